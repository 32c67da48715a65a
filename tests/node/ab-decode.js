#!/usr/bin/env node
// Decodes a DELIVER_SEEK_INFO or CONFIG_UPDATE Envelope written by
// ledgerform with Hyperledger Fabric's own bindings (@hyperledger/fabric-
// protos) and prints what tests/unit/net/test_ab.c checks, as JSON: the
// channel header, the creator, whether the signature verifies against the
// creator's certificate (ECDSA SHA-256 over the payload) and is low-S, and
// the SeekInfo. usage: node ab-decode.js FILE
'use strict';
const fs = require('fs');
const crypto = require('crypto');
const { common, msp, orderer } = require('@hyperledger/fabric-protos');

const P256_N = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');

function lowS(der) {
  // SEQUENCE { INTEGER r, INTEGER s }
  let i = 2;
  if (der[1] & 0x80) i += der[1] & 0x7f;
  const rlen = der[i + 1];
  i += 2 + rlen;
  const slen = der[i + 1];
  const s = BigInt('0x' + Buffer.from(der.slice(i + 2, i + 2 + slen)).toString('hex'));
  return s <= P256_N / 2n;
}

function position(p) {
  if (!p) return null;
  if (p.hasNewest()) return 'newest';
  if (p.hasOldest()) return 'oldest';
  if (p.hasSpecified()) return Number(p.getSpecified().getNumber());
  return 'unset';
}

const env = common.Envelope.deserializeBinary(fs.readFileSync(process.argv[2]));
const pl = common.Payload.deserializeBinary(env.getPayload_asU8());
const ch = common.ChannelHeader.deserializeBinary(pl.getHeader().getChannelHeader_asU8());
const sh = common.SignatureHeader.deserializeBinary(pl.getHeader().getSignatureHeader_asU8());
const id = msp.SerializedIdentity.deserializeBinary(sh.getCreator_asU8());
const cert = Buffer.from(id.getIdBytes_asU8()).toString('utf8');
const sig = Buffer.from(env.getSignature_asU8());
const txid = crypto.createHash('sha256')
  .update(Buffer.concat([Buffer.from(sh.getNonce_asU8()), Buffer.from(sh.getCreator_asU8())]))
  .digest('hex');
const out = {
  type: ch.getType(),
  channel_id: ch.getChannelId(),
  tx_id_ok: ch.getTxId() === txid,
  timestamp_set: ch.getTimestamp() !== undefined && ch.getTimestamp().getSeconds() > 0,
  tls_cert_hash: Buffer.from(ch.getTlsCertHash_asU8()).toString('hex'),
  mspid: id.getMspid(),
  nonce_len: sh.getNonce_asU8().length,
  sig_ok: crypto.verify('sha256', Buffer.from(env.getPayload_asU8()), cert, sig),
  low_s: sig.length > 0 && lowS(sig),
};
if (ch.getType() === common.HeaderType.DELIVER_SEEK_INFO) {
  const si = orderer.SeekInfo.deserializeBinary(pl.getData_asU8());
  out.seek = {
    start: position(si.getStart()),
    stop: position(si.getStop()),
    behavior: si.getBehavior(),
    error_response: si.getErrorResponse(),
    content_type: si.getContentType(),
  };
}
process.stdout.write(JSON.stringify(out) + '\n');
