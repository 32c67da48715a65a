#!/usr/bin/env node
// Decodes a Fabric block, CONFIG_UPDATE envelope or ConfigUpdateEnvelope
// with Hyperledger Fabric's own protobuf bindings (@hyperledger/fabric-protos)
// and prints the decoded tree as JSON, for ledgerform's tests to compare
// field by field with what the spec asked for. Certificates are printed as
// PEM text; hashes as hex. usage: node decode.js FILE
'use strict';
const fs = require('fs');
const crypto = require('crypto');
const { common, msp, orderer, peer } = require('@hyperledger/fabric-protos');

const ROLE = ['member', 'admin', 'client', 'peer', 'orderer'];
const META = ['ANY', 'ALL', 'MAJORITY'];
const txt = (u8) => Buffer.from(u8).toString('utf8');
const hex = (u8) => Buffer.from(u8).toString('hex');
// true when Fabric's bindings re-encode the message to the same bytes
// (ledgerform's encoding is canonical: field order, map key order)
const same = (cls, u8) => Buffer.compare(Buffer.from(cls.deserializeBinary(u8).serializeBinary()),
  Buffer.from(u8)) === 0;
const b64 = (u8) => Buffer.from(u8).toString('base64');

function mapObj(m, f) {
  const o = {};
  m.forEach((v, k) => { o[k] = f(v, k); });
  return o;
}

function ou(id) {
  return id ? { ou: id.getOrganizationalUnitIdentifier(), certificate: txt(id.getCertificate_asU8()) } : null;
}

function mspValue(u8) {
  const mc = msp.MSPConfig.deserializeBinary(u8);
  const fc = msp.FabricMSPConfig.deserializeBinary(mc.getConfig_asU8());
  const n = fc.getFabricNodeOus();
  const cc = fc.getCryptoConfig();
  return {
    type: mc.getType(),
    name: fc.getName(),
    root_certs: fc.getRootCertsList_asU8().map(txt),
    intermediate_certs: fc.getIntermediateCertsList_asU8().map(txt),
    admins: fc.getAdminsList_asU8().map(txt),
    tls_root_certs: fc.getTlsRootCertsList_asU8().map(txt),
    crypto_config: cc ? { signature_hash_family: cc.getSignatureHashFamily(),
      identity_identifier_hash_function: cc.getIdentityIdentifierHashFunction() } : null,
    node_ous: n ? { enable: n.getEnable(), client: ou(n.getClientOuIdentifier()),
      peer: ou(n.getPeerOuIdentifier()), admin: ou(n.getAdminOuIdentifier()),
      orderer: ou(n.getOrdererOuIdentifier()) } : null,
  };
}

function consensusValue(u8) {
  const ct = orderer.ConsensusType.deserializeBinary(u8);
  const out = { type: ct.getType(), state: ct.getState(), metadata: null };
  const md = ct.getMetadata_asU8();
  if (ct.getType() === 'etcdraft') {
    const m = orderer.etcdraft.ConfigMetadata.deserializeBinary(md);
    out.metadata = {
      consenters: m.getConsentersList().map((c) => ({ host: c.getHost(), port: c.getPort(),
        client_tls_cert: txt(c.getClientTlsCert_asU8()), server_tls_cert: txt(c.getServerTlsCert_asU8()) })),
      options: m.getOptions() ? m.getOptions().toObject() : null,
    };
  } else if (ct.getType() === 'BFT') {
    out.metadata = orderer.smartbft.Options.deserializeBinary(md).toObject();
  }
  return out;
}

function orderersValue(u8) {
  return common.Orderers.deserializeBinary(u8).getConsenterMappingList().map((c) => ({
    id: c.getId(), host: c.getHost(), port: c.getPort(), msp_id: c.getMspId(),
    identity: txt(c.getIdentity_asU8()), client_tls_cert: txt(c.getClientTlsCert_asU8()),
    server_tls_cert: txt(c.getServerTlsCert_asU8()) }));
}

const VALUES = {
  MSP: mspValue,
  ConsensusType: consensusValue,
  Orderers: orderersValue,
  Capabilities: (u8) => Object.keys(mapObj(common.Capabilities.deserializeBinary(u8).getCapabilitiesMap(), () => 1)).sort(),
  HashingAlgorithm: (u8) => common.HashingAlgorithm.deserializeBinary(u8).getName(),
  BlockDataHashingStructure: (u8) => common.BlockDataHashingStructure.deserializeBinary(u8).getWidth(),
  OrdererAddresses: (u8) => common.OrdererAddresses.deserializeBinary(u8).getAddressesList(),
  Endpoints: (u8) => common.OrdererAddresses.deserializeBinary(u8).getAddressesList(),
  Consortium: (u8) => common.Consortium.deserializeBinary(u8).getName(),
  BatchSize: (u8) => orderer.BatchSize.deserializeBinary(u8).toObject(),
  BatchTimeout: (u8) => orderer.BatchTimeout.deserializeBinary(u8).getTimeout(),
  ChannelRestrictions: (u8) => orderer.ChannelRestrictions.deserializeBinary(u8).toObject(),
  KafkaBrokers: (u8) => orderer.KafkaBrokers.deserializeBinary(u8).getBrokersList(),
  AnchorPeers: (u8) => peer.AnchorPeers.deserializeBinary(u8).getAnchorPeersList().map((a) => ({ host: a.getHost(), port: a.getPort() })),
  ACLs: (u8) => mapObj(peer.ACLs.deserializeBinary(u8).getAclsMap(), (v) => v.getPolicyRef()),
  ChannelCreationPolicy: (u8) => policyValue(common.Policy.deserializeBinary(u8)),
};

function principal(p) {
  const c = p.getPrincipalClassification();
  if (c === msp.MSPPrincipal.Classification.ROLE) {
    const r = msp.MSPRole.deserializeBinary(p.getPrincipal_asU8());
    return { classification: 'ROLE', msp: r.getMspIdentifier(), role: ROLE[r.getRole()] };
  }
  if (c === msp.MSPPrincipal.Classification.IDENTITY) {
    const si = msp.SerializedIdentity.deserializeBinary(p.getPrincipal_asU8());
    return { classification: 'IDENTITY', msp: si.getMspid(), id_bytes: txt(si.getIdBytes_asU8()) };
  }
  return { classification: c };
}

function ruleText(r, ids) {
  if (r.hasSignedBy()) {
    const p = ids[r.getSignedBy()];
    return p && p.role ? `'${p.msp}.${p.role}'` : `#${r.getSignedBy()}`;
  }
  const n = r.getNOutOf();
  return `OutOf(${n.getN()}, ${n.getRulesList().map((x) => ruleText(x, ids)).join(', ')})`;
}

function policyValue(p) {
  if (p.getType() === common.Policy.PolicyType.IMPLICIT_META) {
    const im = common.ImplicitMetaPolicy.deserializeBinary(p.getValue_asU8());
    return { type: 3, rule: META[im.getRule()], sub_policy: im.getSubPolicy(),
      text: `${META[im.getRule()]} ${im.getSubPolicy()}` };
  }
  if (p.getType() === common.Policy.PolicyType.SIGNATURE) {
    const e = common.SignaturePolicyEnvelope.deserializeBinary(p.getValue_asU8());
    const ids = e.getIdentitiesList().map(principal);
    return { type: 1, version: e.getVersion(), identities: ids, text: ruleText(e.getRule(), ids) };
  }
  return { type: p.getType() };
}

function group(g) {
  if (!g) return null;
  return {
    version: g.getVersion(),
    mod_policy: g.getModPolicy(),
    groups: mapObj(g.getGroupsMap(), group),
    values: mapObj(g.getValuesMap(), (v, k) => ({
      version: v.getVersion(), mod_policy: v.getModPolicy(),
      value: v.getValue_asU8().length === 0 ? null : (VALUES[k] ? VALUES[k](v.getValue_asU8()) : b64(v.getValue_asU8())),
    })),
    policies: mapObj(g.getPoliciesMap(), (v) => ({
      version: v.getVersion(), mod_policy: v.getModPolicy(),
      policy: v.getPolicy() ? policyValue(v.getPolicy()) : null,
    })),
  };
}

function sigHeader(u8) {
  const sh = common.SignatureHeader.deserializeBinary(u8);
  const out = { nonce_len: sh.getNonce_asU8().length, creator: null };
  if (sh.getCreator_asU8().length) {
    const si = msp.SerializedIdentity.deserializeBinary(sh.getCreator_asU8());
    out.creator = { mspid: si.getMspid(), id_bytes: txt(si.getIdBytes_asU8()) };
  }
  return out;
}

function configUpdateEnvelope(u8) {
  const cue = common.ConfigUpdateEnvelope.deserializeBinary(u8);
  const cu = common.ConfigUpdate.deserializeBinary(cue.getConfigUpdate_asU8());
  return {
    kind: 'config_update_envelope',
    canonical: same(common.ConfigUpdate, cue.getConfigUpdate_asU8()) &&
      same(common.ConfigUpdateEnvelope, u8),
    config_update_b64: b64(cue.getConfigUpdate_asU8()),
    channel_id: cu.getChannelId(),
    read_set: group(cu.getReadSet()),
    write_set: group(cu.getWriteSet()),
    signatures: cue.getSignaturesList().map((s) => ({
      signature_header: sigHeader(s.getSignatureHeader_asU8()),
      signature_header_b64: b64(s.getSignatureHeader_asU8()),
      signature_b64: b64(s.getSignature_asU8()),
    })),
  };
}

function envelope(u8) {
  const env = common.Envelope.deserializeBinary(u8);
  const pl = common.Payload.deserializeBinary(env.getPayload_asU8());
  const ch = common.ChannelHeader.deserializeBinary(pl.getHeader().getChannelHeader_asU8());
  const ts = ch.getTimestamp();
  const out = {
    kind: 'envelope',
    signature_len: env.getSignature_asU8().length,
    channel_header: { type: ch.getType(), version: ch.getVersion(), channel_id: ch.getChannelId(),
      tx_id: ch.getTxId(), epoch: ch.getEpoch(), timestamp: ts ? ts.getSeconds() : null },
    signature_header: sigHeader(pl.getHeader().getSignatureHeader_asU8()),
  };
  if (ch.getType() === common.HeaderType.CONFIG) {
    const ce = common.ConfigEnvelope.deserializeBinary(pl.getData_asU8());
    out.canonical = same(common.ConfigEnvelope, pl.getData_asU8()) &&
      same(common.Payload, env.getPayload_asU8()) && same(common.Envelope, u8);
    out.config = { sequence: ce.getConfig().getSequence(), channel_group: group(ce.getConfig().getChannelGroup()) };
    out.last_update = ce.getLastUpdate() ? 'set' : null;
  } else if (ch.getType() === common.HeaderType.CONFIG_UPDATE) {
    out.canonical = same(common.ConfigUpdateEnvelope, pl.getData_asU8()) &&
      same(common.Payload, env.getPayload_asU8()) && same(common.Envelope, u8);
    out.config_update_envelope = configUpdateEnvelope(pl.getData_asU8());
  }
  return out;
}

function block(u8) {
  const b = common.Block.deserializeBinary(u8);
  const data = b.getData().getDataList_asU8();
  return {
    kind: 'block',
    canonical: same(common.Block, u8),
    number: b.getHeader().getNumber(),
    previous_hash: hex(b.getHeader().getPreviousHash_asU8()),
    data_hash: hex(b.getHeader().getDataHash_asU8()),
    computed_data_hash: crypto.createHash('sha256').update(Buffer.concat(data.map((d) => Buffer.from(d)))).digest('hex'),
    metadata: b.getMetadata().getMetadataList_asU8().map(b64),
    envelopes: data.map(envelope),
  };
}

function main() {
  const file = process.argv[2];
  const kind = process.argv[3] || 'auto';
  if (!file) {
    process.stderr.write('usage: decode.js FILE [block|envelope|update]\n');
    process.exit(2);
  }
  const u8 = new Uint8Array(fs.readFileSync(file));
  let out;
  if (kind === 'block') out = block(u8);
  else if (kind === 'envelope') out = envelope(u8);
  else if (kind === 'update') out = configUpdateEnvelope(u8);
  else {
    try { out = block(u8); } catch (e) {
      try { out = envelope(u8); } catch (e2) { out = configUpdateEnvelope(u8); }
    }
  }
  process.stdout.write(JSON.stringify(out, null, 1) + '\n');
}

main();
