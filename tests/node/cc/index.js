#!/usr/bin/env node
// A small chaincode for ledgerform's tests, run as a chaincode-as-a-service
// server with fabric-shim (the peer connects to it; see
// templates/fabric/builders/ccaas).
//   CHAINCODE_ID       the package ID the peer knows it by (label:sha256)
//   CHAINCODE_ADDRESS  where to listen, host:port (plaintext)
//   CC_VERSION         "2" selects version 2: get answers "v2:" + value
// Functions: put(key, value) -> value; get(key) -> value ("" when unset).
'use strict';
const shim = require('fabric-shim');

const v2 = process.env.CC_VERSION === '2';

const chaincode = {
  async Init() {
    return shim.success();
  },
  async Invoke(stub) {
    const { fcn, params } = stub.getFunctionAndParameters();
    if (fcn === 'put' && params.length === 2) {
      await stub.putState(params[0], Buffer.from(params[1]));
      return shim.success(Buffer.from(params[1]));
    }
    if (fcn === 'get' && params.length === 1) {
      const v = (await stub.getState(params[0])).toString('utf8');
      return shim.success(Buffer.from(v2 ? 'v2:' + v : v));
    }
    return shim.error(`unknown function or arguments: ${fcn}/${params.length}`);
  },
};

const ccid = process.env.CHAINCODE_ID;
const address = process.env.CHAINCODE_ADDRESS;
if (!ccid || !address) {
  console.error('CHAINCODE_ID and CHAINCODE_ADDRESS are required');
  process.exit(2);
}
const server = shim.server(chaincode, { ccid, address });
server.start().then(() => {
  console.log(`chaincode ${ccid} (v${v2 ? 2 : 1}) listening on ${address}`);
}).catch((e) => {
  console.error(`chaincode server: ${e.message}`);
  process.exit(1);
});
