#!/usr/bin/env node
// Submits or evaluates one chaincode transaction through Fabric's Gateway
// client (@hyperledger/fabric-gateway), as an application would (tests).
//   node cc-gateway.js submit|evaluate PEER_HOST:PORT TLS_CA_FILE MSPDIR
//        MSPID CHANNEL CHAINCODE FUNCTION [ARG...]
// MSPDIR is a cryptogen-layout MSP (signcerts/, keystore/). Prints
// {"result": "<the transaction's answer as text>"}; exits 1 with the
// error's message (and details) on stderr otherwise.
'use strict';
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const grpc = require('@grpc/grpc-js');
const { connect, signers } = require('@hyperledger/fabric-gateway');

function firstFile(dir) {
  const names = fs.readdirSync(dir).sort();
  if (!names.length) throw new Error(`${dir} is empty`);
  return fs.readFileSync(path.join(dir, names[0]));
}

async function main() {
  const [mode, endpoint, caFile, mspdir, mspId, channel, cc, fn, ...args] =
    process.argv.slice(2);
  if (!fn || !['submit', 'evaluate'].includes(mode)) {
    console.error('usage: cc-gateway.js submit|evaluate ENDPOINT CA MSPDIR ' +
      'MSPID CHANNEL CHAINCODE FUNCTION [ARG...]');
    process.exit(2);
  }
  const client = new grpc.Client(endpoint,
    grpc.credentials.createSsl(fs.readFileSync(caFile)));
  const credentials = firstFile(path.join(mspdir, 'signcerts'));
  const key = crypto.createPrivateKey(firstFile(path.join(mspdir, 'keystore')));
  const gw = connect({
    client,
    identity: { mspId, credentials },
    signer: signers.newPrivateKeySigner(key),
  });
  try {
    const contract = gw.getNetwork(channel).getContract(cc);
    const out = mode === 'submit'
      ? await contract.submitTransaction(fn, ...args)
      : await contract.evaluateTransaction(fn, ...args);
    console.log(JSON.stringify({ result: Buffer.from(out).toString('utf8') }));
  } finally {
    gw.close();
    client.close();
  }
}

main().catch((e) => {
  console.error(e.message);
  if (e.details) console.error(JSON.stringify(e.details));
  process.exit(1);
});
