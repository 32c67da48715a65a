#!/usr/bin/env node
// Decodes a serialized CollectionConfigPackage (file argv[2]) with Fabric's
// own protobuf bindings and prints it as JSON (tests/unit/cc).
'use strict';
const fs = require('fs');
const { peer, common } = require('@hyperledger/fabric-protos');

const pkg = peer.CollectionConfigPackage.deserializeBinary(fs.readFileSync(process.argv[2]));
const out = pkg.getConfigList().map((c) => {
  const s = c.getStaticCollectionConfig();
  const env = s.getMemberOrgsPolicy().getSignaturePolicy();
  const ep = s.getEndorsementPolicy();
  return {
    name: s.getName(),
    identities: env.getIdentitiesList().length,
    required: s.getRequiredPeerCount(),
    max: s.getMaximumPeerCount(),
    btl: s.getBlockToLive(),
    read: s.getMemberOnlyRead(),
    write: s.getMemberOnlyWrite(),
    endorsement: ep ? (ep.getChannelConfigPolicyReference() ||
      (ep.hasSignaturePolicy() ? 'signature:' + ep.getSignaturePolicy().getIdentitiesList().length : '')) : null,
  };
});
void common;
console.log(JSON.stringify(out));
