// Enrolls an identity with the Fabric CA that a connection profile from
// `ledgerform output connection-profile` names for an org, through the
// Fabric SDK's fabric-ca-client (FabricCAServices), with the profile's
// URL, CA name and TLS CA certificate (the server's certificate is
// verified). Writes the enrolled certificate to OUTCERT and prints
// {"ca": NAME, "caName": ..., "url": ...}. Tests only.
// Usage: node ccp-ca.js PROFILE.json ORG ENROLLID SECRET OUTCERT
'use strict';
const fs = require('fs');
const FabricCAServices = require('fabric-ca-client');

async function main() {
  const [profilePath, org, id, secret, outCert] = process.argv.slice(2);
  const ccp = JSON.parse(fs.readFileSync(profilePath, 'utf8'));
  const names = (ccp.organizations[org] || {}).certificateAuthorities || [];
  if (names.length === 0) throw new Error(`org ${org} has no certificateAuthorities in the profile`);
  const ca = ccp.certificateAuthorities[names[0]];
  if (!ca) throw new Error(`the profile has no certificateAuthorities entry ${names[0]}`);
  const pem = Array.isArray(ca.tlsCACerts.pem) ? ca.tlsCACerts.pem : [ca.tlsCACerts.pem];
  const svc = new FabricCAServices(ca.url, { trustedRoots: pem, verify: ca.httpOptions.verify }, ca.caName);
  const e = await svc.enroll({ enrollmentID: id, enrollmentSecret: secret });
  fs.writeFileSync(outCert, e.certificate);
  process.stdout.write(JSON.stringify({ ca: names[0], caName: ca.caName, url: ca.url }) + '\n');
}

main().catch((e) => { process.stderr.write(String(e && e.stack || e) + '\n'); process.exit(1); });
