// A small gRPC server for tests/unit/net/test_grpc.c, written with
// @grpc/grpc-js so ledgerform's gRPC client is checked against a real,
// independent HTTP/2 + gRPC implementation.
//
//   node grpc-echo.js DIR        TLS: DIR/ca.pem (client CA), DIR/server.pem,
//                                DIR/server.key; client certificates required
//   node grpc-echo.js --plaintext  h2c (no TLS)
//
// Binds 127.0.0.1 on a free port (port 0) and prints "port N" on stdout once
// it serves. Exits on SIGTERM or when its stdin closes (so a crashed test
// never leaves it behind).
//
// Methods (raw bytes in and out, no protobuf):
//   /test.Echo/Echo   returns the request
//   /test.Echo/Fail   request "CODE message": fails with that gRPC status
//   /test.Echo/Slow   request "MS": answers the request after MS milliseconds
//   /test.Echo/Big    request "N": answers N bytes of 'x'
//   /test.Echo/Deadline  answers the milliseconds left before the call's
//                     deadline (from grpc-timeout), or "none"
'use strict';

const fs = require('fs');
const path = require('path');
const grpc = require('@grpc/grpc-js');

const raw = {
  requestStream: false,
  responseStream: false,
  requestSerialize: (b) => b,
  requestDeserialize: (b) => b,
  responseSerialize: (b) => b,
  responseDeserialize: (b) => b,
};

const service = {
  Echo: Object.assign({ path: '/test.Echo/Echo' }, raw),
  Fail: Object.assign({ path: '/test.Echo/Fail' }, raw),
  Slow: Object.assign({ path: '/test.Echo/Slow' }, raw),
  Big: Object.assign({ path: '/test.Echo/Big' }, raw),
  Deadline: Object.assign({ path: '/test.Echo/Deadline' }, raw),
};

const handlers = {
  Echo: (call, cb) => cb(null, call.request),
  Fail: (call, cb) => {
    const text = call.request.toString('utf8');
    const sp = text.indexOf(' ');
    const code = parseInt(sp < 0 ? text : text.slice(0, sp), 10);
    cb({ code: code, details: sp < 0 ? '' : text.slice(sp + 1) });
  },
  Slow: (call, cb) => {
    const ms = parseInt(call.request.toString('utf8'), 10) || 0;
    const t = setTimeout(() => cb(null, call.request), ms);
    call.on('cancelled', () => clearTimeout(t));
  },
  Big: (call, cb) => {
    const n = parseInt(call.request.toString('utf8'), 10) || 0;
    cb(null, Buffer.alloc(n, 'x'));
  },
  Deadline: (call, cb) => {
    const d = call.getDeadline();
    const left = (d instanceof Date ? d.getTime() : Number(d)) - Date.now();
    cb(null, Buffer.from(Number.isFinite(left) ? String(Math.round(left)) : 'none'));
  },
};

function credentials(argv) {
  if (argv[2] === '--plaintext')
    return grpc.ServerCredentials.createInsecure();
  const dir = argv[2];
  if (!dir) {
    process.stderr.write('usage: grpc-echo.js DIR | --plaintext\n');
    process.exit(2);
  }
  const rd = (f) => fs.readFileSync(path.join(dir, f));
  return grpc.ServerCredentials.createSsl(rd('ca.pem'),
    [{ private_key: rd('server.key'), cert_chain: rd('server.pem') }], true);
}

const server = new grpc.Server();
server.addService(service, handlers);
server.bindAsync('127.0.0.1:0', credentials(process.argv), (e, port) => {
  if (e) {
    process.stderr.write('grpc-echo: bind: ' + e.message + '\n');
    process.exit(1);
  }
  process.stdout.write('port ' + port + '\n');
});
process.on('SIGTERM', () => process.exit(0));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
