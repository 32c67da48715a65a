// Connects with fabric-network's Gateway through a connection profile that
// `ledgerform output connection-profile` printed, as an identity of the
// org's (cert and key from its MSP folder), and reads a channel's height
// through qscc GetChainInfo. Prints {"height": N} or exits non-zero with
// the SDK's error. Tests only.
// Usage: node ccp-gateway.js PROFILE.json MSPID MSPDIR CHANNEL
'use strict';
const fs = require('fs');
const path = require('path');
const { Gateway, Wallets } = require('fabric-network');
const protos = require('@hyperledger/fabric-protos');

async function main() {
  const [profilePath, mspid, mspdir, channel] = process.argv.slice(2);
  const ccp = JSON.parse(fs.readFileSync(profilePath, 'utf8'));
  const one = (d) => fs.readFileSync(path.join(mspdir, d, fs.readdirSync(path.join(mspdir, d))[0]), 'utf8');
  const wallet = await Wallets.newInMemoryWallet();
  await wallet.put('me', {
    credentials: { certificate: one('signcerts'), privateKey: one('keystore') },
    mspId: mspid, type: 'X.509',
  });
  const gw = new Gateway();
  try {
    await gw.connect(ccp, { wallet, identity: 'me', discovery: { enabled: false } });
    const network = await gw.getNetwork(channel);
    const bytes = await network.getContract('qscc').evaluateTransaction('GetChainInfo', channel);
    const info = protos.common.BlockchainInfo.deserializeBinary(bytes);
    process.stdout.write(JSON.stringify({ height: info.getHeight() }) + '\n');
  } finally {
    gw.disconnect();
  }
}

main().catch((e) => { process.stderr.write(String(e && e.stack || e) + '\n'); process.exit(1); });
