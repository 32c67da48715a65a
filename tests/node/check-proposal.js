#!/usr/bin/env node
// Checks ledgerform's signed proposals with Hyperledger Fabric's own
// protobuf bindings (@hyperledger/fabric-protos) and node's crypto, and
// encodes proposal responses for ledgerform's decoder (tests only).
//   node check-proposal.js proposal FILE...
//     prints a JSON array, one object per SignedProposal file: the decoded
//     fields, whether the tx id is hex(sha256(nonce || creator)), whether
//     the signature verifies over proposal_bytes with the creator's
//     certificate, and whether it is low-S.
//   node check-proposal.js response OUT STATUS MESSAGE [PAYLOAD_HEX]
//     writes a ProposalResponse{version 1, response{status, message,
//     payload}} to OUT.
'use strict';
const fs = require('fs');
const crypto = require('crypto');
const { common, msp, peer } = require('@hyperledger/fabric-protos');

// order of the P-256 group
const N = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');

// s of a DER ECDSA-Sig-Value SEQUENCE { INTEGER r, INTEGER s }
function derS(sig) {
  let i = 2;
  if (sig[1] & 0x80) i += sig[1] & 0x7f;
  i += 2 + sig[i + 1]; // skip r
  const len = sig[i + 1];
  return BigInt('0x' + Buffer.from(sig.slice(i + 2, i + 2 + len)).toString('hex'));
}

function proposal(file) {
  const sp = peer.SignedProposal.deserializeBinary(fs.readFileSync(file));
  const pb = sp.getProposalBytes_asU8();
  const sig = sp.getSignature_asU8();
  const prop = peer.Proposal.deserializeBinary(pb);
  const hdr = common.Header.deserializeBinary(prop.getHeader_asU8());
  const ch = common.ChannelHeader.deserializeBinary(hdr.getChannelHeader_asU8());
  const sh = common.SignatureHeader.deserializeBinary(hdr.getSignatureHeader_asU8());
  const creator = sh.getCreator_asU8();
  const nonce = sh.getNonce_asU8();
  const si = msp.SerializedIdentity.deserializeBinary(creator);
  const ext = peer.ChaincodeHeaderExtension.deserializeBinary(ch.getExtension_asU8());
  const cpp = peer.ChaincodeProposalPayload.deserializeBinary(prop.getPayload_asU8());
  const cis = peer.ChaincodeInvocationSpec.deserializeBinary(cpp.getInput_asU8());
  const spec = cis.getChaincodeSpec();
  const cert = Buffer.from(si.getIdBytes_asU8()).toString('utf8');
  const txid = crypto.createHash('sha256').update(Buffer.concat([Buffer.from(nonce),
    Buffer.from(creator)])).digest('hex');
  const ts = ch.getTimestamp();
  return {
    type: ch.getType(),
    version: ch.getVersion(),
    channel_id: ch.getChannelId(),
    tx_id: ch.getTxId(),
    tx_id_ok: txid === ch.getTxId(),
    timestamp: ts ? ts.getSeconds() : null,
    mspid: si.getMspid(),
    cert,
    nonce_len: nonce.length,
    ext_chaincode: ext.getChaincodeId() ? ext.getChaincodeId().getName() : null,
    cc_type: spec.getType(),
    cc_name: spec.getChaincodeId().getName(),
    args: spec.getInput().getArgsList_asU8().map((a) => Buffer.from(a).toString('base64')),
    transient: cpp.getTransientmapMap().getLength(),
    sig_ok: crypto.verify('sha256', Buffer.from(pb), crypto.createPublicKey(cert), Buffer.from(sig)),
    low_s: derS(sig) <= N / 2n,
    // Fabric's bindings re-encode the proposal to the same bytes
    canonical: Buffer.compare(Buffer.from(peer.Proposal.deserializeBinary(pb).serializeBinary()),
      Buffer.from(pb)) === 0,
  };
}

function response(out, status, message, payloadHex) {
  const r = new peer.Response();
  r.setStatus(Number(status));
  r.setMessage(message);
  if (payloadHex) r.setPayload(Buffer.from(payloadHex, 'hex'));
  const pr = new peer.ProposalResponse();
  pr.setVersion(1);
  pr.setResponse(r);
  fs.writeFileSync(out, Buffer.from(pr.serializeBinary()));
}

const [mode, ...rest] = process.argv.slice(2);
if (mode === 'proposal') {
  process.stdout.write(JSON.stringify(rest.map(proposal)) + '\n');
} else if (mode === 'response') {
  response(...rest);
} else {
  process.stderr.write('usage: check-proposal.js proposal FILE... | response OUT STATUS MESSAGE [PAYLOAD_HEX]\n');
  process.exit(2);
}
