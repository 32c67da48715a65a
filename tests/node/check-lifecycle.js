#!/usr/bin/env node
// Decodes ledgerform's chaincode lifecycle messages (core/net/lifecycle)
// with Hyperledger Fabric's own protobuf bindings (@hyperledger/fabric-protos)
// and checks their signatures with node's crypto (tests only).
//   node check-lifecycle.js proposal FILE   a SignedProposal to _lifecycle
//   node check-lifecycle.js envelope FILE   an endorser transaction Envelope
// Each prints one JSON object: the decoded fields, whether the signature
// verifies with the creator's certificate, whether the tx id is
// hex(sha256(nonce || creator)).
'use strict';
const fs = require('fs');
const crypto = require('crypto');
const { common, msp, peer } = require('@hyperledger/fabric-protos');

const lc = peer.lifecycle;

function verify(data, sig, certPem) {
  if (!sig.length) return null;
  return crypto.verify('sha256', Buffer.from(data), crypto.createPublicKey(certPem),
    Buffer.from(sig));
}

function header(hdr) {
  const ch = common.ChannelHeader.deserializeBinary(hdr.getChannelHeader_asU8());
  const sh = common.SignatureHeader.deserializeBinary(hdr.getSignatureHeader_asU8());
  const si = msp.SerializedIdentity.deserializeBinary(sh.getCreator_asU8());
  const txid = crypto.createHash('sha256').update(Buffer.concat([
    Buffer.from(sh.getNonce_asU8()), Buffer.from(sh.getCreator_asU8())])).digest('hex');
  const ext = peer.ChaincodeHeaderExtension.deserializeBinary(ch.getExtension_asU8());
  return {
    type: ch.getType(),
    channel_id: ch.getChannelId(),
    tx_id: ch.getTxId(),
    tx_id_ok: txid === ch.getTxId(),
    mspid: si.getMspid(),
    cert: Buffer.from(si.getIdBytes_asU8()).toString('utf8'),
    chaincode: ext.getChaincodeId() ? ext.getChaincodeId().getName() : null,
  };
}

function policy(bytes) {
  if (!bytes.length) return null;
  const ap = peer.ApplicationPolicy.deserializeBinary(bytes);
  if (ap.hasSignaturePolicy()) {
    const env = ap.getSignaturePolicy();
    return {
      signature: env.getIdentitiesList().map((p) => {
        const r = msp.MSPRole.deserializeBinary(p.getPrincipal_asU8());
        return `${r.getMspIdentifier()}.${r.getRole()}`;
      }),
      n: env.getRule().getNOutOf() ? env.getRule().getNOutOf().getN() : null,
    };
  }
  return { reference: ap.getChannelConfigPolicyReference() };
}

function definition(a, approve) {
  const col = a.getCollections();
  const out = {
    sequence: a.getSequence(),
    name: a.getName(),
    version: a.getVersion(),
    endorsement_plugin: a.getEndorsementPlugin(),
    validation_plugin: a.getValidationPlugin(),
    policy: policy(a.getValidationParameter_asU8()),
    collections: col ? col.getConfigList().map((c) => c.getStaticCollectionConfig().getName())
      : [],
    init_required: a.getInitRequired(),
  };
  if (approve) {
    const src = a.getSource();
    out.package_id = src && src.hasLocalPackage() ? src.getLocalPackage().getPackageId() : null;
    out.unavailable = src ? src.hasUnavailable() : null;
  }
  return out;
}

function invocation(payloadBytes) {
  const cpp = peer.ChaincodeProposalPayload.deserializeBinary(payloadBytes);
  const cis = peer.ChaincodeInvocationSpec.deserializeBinary(cpp.getInput_asU8());
  const args = cis.getChaincodeSpec().getInput().getArgsList_asU8();
  const fn = Buffer.from(args[0]).toString('utf8');
  let def = null;
  if (fn === 'ApproveChaincodeDefinitionForMyOrg') {
    def = definition(lc.ApproveChaincodeDefinitionForMyOrgArgs.deserializeBinary(args[1]), true);
  } else if (fn === 'CommitChaincodeDefinition') {
    def = definition(lc.CommitChaincodeDefinitionArgs.deserializeBinary(args[1]), false);
  } else if (fn === 'CheckCommitReadiness') {
    def = definition(lc.CheckCommitReadinessArgs.deserializeBinary(args[1]), false);
  }
  return { cc: cis.getChaincodeSpec().getChaincodeId().getName(), fn, nargs: args.length,
    def, transient: cpp.getTransientmapMap().getLength() };
}

function proposal(file) {
  const sp = peer.SignedProposal.deserializeBinary(fs.readFileSync(file));
  const prop = peer.Proposal.deserializeBinary(sp.getProposalBytes_asU8());
  const h = header(common.Header.deserializeBinary(prop.getHeader_asU8()));
  return Object.assign(h, invocation(prop.getPayload_asU8()), {
    signature_ok: verify(sp.getProposalBytes_asU8(), sp.getSignature_asU8(), h.cert),
  });
}

function envelope(file) {
  const env = common.Envelope.deserializeBinary(fs.readFileSync(file));
  const pl = common.Payload.deserializeBinary(env.getPayload_asU8());
  const h = header(pl.getHeader());
  const tx = peer.Transaction.deserializeBinary(pl.getData_asU8());
  const actions = tx.getActionsList();
  const cap = peer.ChaincodeActionPayload.deserializeBinary(actions[0].getPayload_asU8());
  const cea = cap.getAction();
  return Object.assign(h, invocation(cap.getChaincodeProposalPayload_asU8()), {
    signature_ok: verify(env.getPayload_asU8(), env.getSignature_asU8(), h.cert),
    actions: actions.length,
    action_header_is_signature_header: Buffer.from(actions[0].getHeader_asU8())
      .equals(Buffer.from(pl.getHeader().getSignatureHeader_asU8())),
    response_payload: Buffer.from(cea.getProposalResponsePayload_asU8()).toString('utf8'),
    endorsers: cea.getEndorsementsList().map((e) =>
      Buffer.from(e.getEndorser_asU8()).toString('utf8')),
  });
}

const [mode, file] = process.argv.slice(2);
const fns = { proposal, envelope };
if (!fns[mode] || !file) {
  console.error('usage: check-lifecycle.js proposal|envelope FILE');
  process.exit(2);
}
console.log(JSON.stringify(fns[mode](file)));
