#!/usr/bin/env node
/*
 * check-msp.js ORG_DIR MSPID [--offline-admin]
 *
 * Decodes one org of a rendered crypto tree with Fabric's own JavaScript
 * code (fabric-common's CryptoSuite, Signer, SigningIdentity, Identity and
 * its jsrsasign/fabric-protos dependencies), so that the check is not only
 * ledgerform's: for every identity under peers/, orderers/ and users/ it
 * imports the private key and the certificate, signs a message with the
 * SigningIdentity and verifies it with the certificate's public key,
 * checks the MSP id and the serialized identity, the NodeOU, that the
 * certificate's signature verifies with the org CA's key under Fabric's
 * low-S rule, the TLS pair (key matches, signed by the TLS CA, key usages,
 * SANs = host name then short name for nodes, none for users, tls/ca.crt)
 * and the org MSP's config.yaml. --offline-admin: the org's admin is
 * `admin: offline` (its key put into a copy of its keystore, as on the
 * admin's own machine): Admin@'s tls/ must hold ca.crt and no client
 * pair. Exit 0 = all good, 1 = a
 * mismatch (printed), 2 = usage, 77 = fabric-common missing (skip).
 */
'use strict';

const fs = require('fs');
const path = require('path');

const modules = path.join(__dirname, 'node_modules');
let fc;
let jsrsasign;
let protos;
try {
	fc = require(path.join(modules, 'fabric-common'));
	jsrsasign = require(path.join(modules, 'jsrsasign'));
	protos = require(path.join(modules, 'fabric-protos'));
} catch (e) {
	console.log('skipped: fabric-common not installed');
	process.exit(77);
}

const failures = [];
function check(ok, what) {
	if (!ok) {
		failures.push(what);
	}
}

function onlyFile(dir) {
	const names = fs.readdirSync(dir).filter((n) => !n.startsWith('.'));
	if (names.length !== 1) {
		throw new Error(`${dir}: expected one file, found ${names.length}`);
	}
	return path.join(dir, names[0]);
}

function certSignatureOk(suite, caKey, certPem) {
	const x = new jsrsasign.X509();
	x.readCertPEM(certPem);
	const tbs = jsrsasign.ASN1HEX.getTLVbyList(x.hex, 0, [0]);
	const sig = x.getSignatureValueHex();
	/* CryptoSuite.verify hashes its third argument and rejects high-S */
	return suite.verify(caKey, Buffer.from(sig, 'hex'), Buffer.from(tbs, 'hex'));
}

function expectedOU(kind, name) {
	if (kind === 'peers') {
		return 'peer';
	}
	if (kind === 'orderers') {
		return 'orderer';
	}
	return name.startsWith('Admin@') ? 'admin' : 'client';
}

function checkIdentity(suite, caKey, mspId, kind, dir) {
	const name = path.basename(dir);
	const certPem = fs.readFileSync(path.join(dir, 'msp', 'signcerts', `${name}-cert.pem`), 'utf8');
	const keyPem = fs.readFileSync(path.join(dir, 'msp', 'keystore', 'priv_sk'), 'utf8');
	const priv = suite.createKeyFromRaw(keyPem);
	const pub = suite.createKeyFromRaw(certPem);
	check(priv.isPrivate(), `${name}: keystore/priv_sk is not a private key`);
	check(!pub.isPrivate(), `${name}: signcert did not give a public key`);
	check(priv.getSKI() === pub.getSKI(), `${name}: private key does not match the signcert`);

	const signer = new fc.Signer(suite, priv);
	const id = new fc.SigningIdentity(certPem, pub, mspId, suite, signer);
	const msg = Buffer.from(`ledgerform check-msp ${name}`);
	const sig = id.sign(msg);
	check(id.verify(msg, sig), `${name}: signature by the identity does not verify`);
	check(!id.verify(Buffer.from('something else'), sig), `${name}: signature verifies a different message`);
	check(id.getMSPId() === mspId, `${name}: MSP id ${id.getMSPId()} != ${mspId}`);

	const ser = protos.msp.SerializedIdentity.decode(id.serialize());
	check(ser.mspid === mspId, `${name}: serialized mspid ${ser.mspid}`);
	check(Buffer.from(ser.id_bytes).toString() === certPem, `${name}: serialized cert differs`);

	const x = new jsrsasign.X509();
	x.readCertPEM(certPem);
	const subject = x.getSubjectString();
	const ou = expectedOU(kind, name);
	check(subject.includes(`/OU=${ou}/`) && subject.endsWith(`/CN=${name}`),
		`${name}: subject ${subject} lacks OU=${ou}, CN=${name}`);
	check(certSignatureOk(suite, caKey, certPem), `${name}: signcert not signed (low-S) by the org CA`);
}

function checkTLS(suite, tlsCaPem, kind, dir, offlineAdmin) {
	const name = path.basename(dir);
	const tlsDir = path.join(dir, 'tls');
	const pre = kind === 'users' ? 'client' : 'server';
	if (offlineAdmin && kind === 'users' && name.startsWith('Admin@')) {
		check(fs.readFileSync(path.join(tlsDir, 'ca.crt'), 'utf8') === tlsCaPem,
			`${name}: tls/ca.crt is not the org's TLS CA`);
		check(!fs.existsSync(path.join(tlsDir, 'client.key')) &&
			!fs.existsSync(path.join(tlsDir, 'client.crt')),
			`${name}: an offline admin with a TLS client pair`);
		return;
	}
	const certPem = fs.readFileSync(path.join(tlsDir, `${pre}.crt`), 'utf8');
	const keyPem = fs.readFileSync(path.join(tlsDir, `${pre}.key`), 'utf8');
	check(fs.readFileSync(path.join(tlsDir, 'ca.crt'), 'utf8') === tlsCaPem,
		`${name}: tls/ca.crt is not the org's TLS CA`);
	check(suite.createKeyFromRaw(keyPem).getSKI() === suite.createKeyFromRaw(certPem).getSKI(),
		`${name}: tls/${pre}.key does not match tls/${pre}.crt`);
	check(certSignatureOk(suite, suite.createKeyFromRaw(tlsCaPem), certPem),
		`${name}: tls/${pre}.crt not signed (low-S) by the TLS CA`);
	const x = new jsrsasign.X509();
	x.readCertPEM(certPem);
	const ku = x.getExtKeyUsage();
	check(ku.critical && ku.names.join() === 'digitalSignature,keyEncipherment',
		`${name}: TLS key usage ${JSON.stringify(ku)}`);
	check(x.getExtExtKeyUsage().array.join() === 'serverAuth,clientAuth',
		`${name}: TLS extended key usage`);
	const san = x.getExtSubjectAltName();
	if (kind === 'users') {
		check(!san, `${name}: a client TLS cert with SANs`);
	} else {
		const dns = san ? san.array.filter((e) => e.dns).map((e) => e.dns) : [];
		check(dns[0] === name && dns[1] === name.split('.')[0],
			`${name}: TLS SANs ${JSON.stringify(dns)} lack host name and short name`);
	}
}

function checkConfig(orgDir) {
	const cfg = fs.readFileSync(path.join(orgDir, 'msp', 'config.yaml'), 'utf8');
	check(/NodeOUs:\n {2}Enable: true\n/.test(cfg), 'msp/config.yaml: NodeOUs not enabled');
	const certs = [...cfg.matchAll(/Certificate: (\S+)/g)].map((m) => m[1]);
	check(certs.length === 4, `msp/config.yaml: ${certs.length} OU identifiers, expected 4`);
	for (const c of certs) {
		check(fs.existsSync(path.join(orgDir, 'msp', c)), `msp/config.yaml names missing ${c}`);
	}
	for (const ou of ['client', 'peer', 'admin', 'orderer']) {
		check(cfg.includes(`OrganizationalUnitIdentifier: ${ou}\n`), `msp/config.yaml: no ${ou} OU`);
	}
}

function main() {
	const offlineAdmin = process.argv[4] === '--offline-admin';
	if (process.argv.length !== 4 && !(process.argv.length === 5 && offlineAdmin)) {
		console.error('usage: check-msp.js ORG_DIR MSPID [--offline-admin]');
		process.exit(2);
	}
	const [orgDir, mspId] = process.argv.slice(2);
	const suite = fc.Utils.newCryptoSuite();
	const caPem = fs.readFileSync(onlyFile(path.join(orgDir, 'msp', 'cacerts')), 'utf8');
	const caKey = suite.createKeyFromRaw(caPem);
	const tlsCaPem = fs.readFileSync(onlyFile(path.join(orgDir, 'msp', 'tlscacerts')), 'utf8');
	checkConfig(orgDir);
	let n = 0;
	for (const kind of ['peers', 'orderers', 'users']) {
		const base = path.join(orgDir, kind);
		if (!fs.existsSync(base)) {
			continue;
		}
		for (const name of fs.readdirSync(base).sort()) {
			checkIdentity(suite, caKey, mspId, kind, path.join(base, name));
			checkTLS(suite, tlsCaPem, kind, path.join(base, name), offlineAdmin);
			n++;
		}
	}
	check(n > 0, 'no identities found');
	if (failures.length > 0) {
		for (const f of failures) {
			console.error(`check-msp: ${f}`);
		}
		process.exit(1);
	}
	console.log(`ok: ${n} identities of ${mspId} checked with fabric-common`);
}

try {
	main();
} catch (e) {
	console.error(`check-msp: ${e.message}`);
	process.exit(1);
}
