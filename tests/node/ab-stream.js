// A streaming gRPC server for tests/unit/net/test_ab.c: checks ledgerform's
// streaming calls (core/net/grpc lf_grpc_stream) against @grpc/grpc-js, plus
// a raw node:http2 endpoint that resets a stream mid-way (grpc-js has no
// API for that). Both plaintext h2c on 127.0.0.1, free ports; prints
// "port N reset M" once both serve. Exits on SIGTERM or when stdin closes.
//
//   /test.Stream/Count  bidi: for each request "N", answers N messages
//                       "I/N" (I = 1..N); ends OK when the client is done
//   /test.Stream/Fail   request "N CODE text": N messages, then status CODE
//                       with message text
//   /orderer.AtomicBroadcast/Deliver  as an orderer's Deliver that has no
//                       block to give: one DeliverResponse with a status
//                       picked by the seek envelope's channel ("busy": 503
//                       SERVICE_UNAVAILABLE, as a raft channel without a
//                       leader; any other: 404 NOT_FOUND), encoded and the
//                       envelope decoded with Fabric's own bindings
//   (reset port) /test.Stream/ResetNow: RST_STREAM before any answer;
//                       any other path: answers 2 messages, then RST_STREAM
'use strict';

const http2 = require('http2');
const grpc = require('@grpc/grpc-js');

const raw = {
  requestStream: true,
  responseStream: true,
  requestSerialize: (b) => b,
  requestDeserialize: (b) => b,
  responseSerialize: (b) => b,
  responseDeserialize: (b) => b,
};

const service = {
  Count: Object.assign({ path: '/test.Stream/Count' }, raw),
  Fail: Object.assign({ path: '/test.Stream/Fail' }, raw),
};
const abService = {
  Deliver: Object.assign({ path: '/orderer.AtomicBroadcast/Deliver' }, raw),
};

function envelopeChannel(bytes) {
  const { common } = require('@hyperledger/fabric-protos');
  const payload = common.Payload.deserializeBinary(
    common.Envelope.deserializeBinary(bytes).getPayload_asU8());
  return common.ChannelHeader.deserializeBinary(
    payload.getHeader().getChannelHeader_asU8()).getChannelId();
}

const abHandlers = {
  Deliver: (call) => {
    call.once('data', (req) => {
      const { common, orderer } = require('@hyperledger/fabric-protos');
      const r = new orderer.DeliverResponse();
      r.setStatus(envelopeChannel(req) === 'busy' ?
        common.Status.SERVICE_UNAVAILABLE : common.Status.NOT_FOUND);
      call.write(Buffer.from(r.serializeBinary()));
    });
    call.on('end', () => call.end());
  },
};

const handlers = {
  Count: (call) => {
    call.on('data', (req) => {
      const n = parseInt(req.toString('utf8'), 10) || 0;
      for (let i = 1; i <= n; i++)
        call.write(Buffer.from(i + '/' + n));
    });
    call.on('end', () => call.end());
  },
  Fail: (call) => {
    call.once('data', (req) => {
      const [n, code, ...text] = req.toString('utf8').split(' ');
      for (let i = 1; i <= parseInt(n, 10); i++)
        call.write(Buffer.from(String(i)));
      call.emit('error', { code: parseInt(code, 10), details: text.join(' ') });
    });
  },
};

function frame(text) {
  const b = Buffer.from(text);
  const h = Buffer.alloc(5);
  h.writeUInt32BE(b.length, 1);
  return Buffer.concat([h, b]);
}

const reset = http2.createServer();
reset.on('stream', (stream, headers) => {
  stream.on('error', () => {}); // the reset is the point
  if (headers[':path'] === '/test.Stream/ResetNow') {
    // reset before any answer (a server going away mid-call)
    stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
    return;
  }
  stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
  stream.write(frame('one'));
  stream.write(frame('two'), () =>
    setImmediate(() => stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR)));
});

const server = new grpc.Server();
server.addService(service, handlers);
server.addService(abService, abHandlers);
server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, port) => {
  if (e) {
    process.stderr.write('ab-stream: bind: ' + e.message + '\n');
    process.exit(1);
  }
  reset.listen(0, '127.0.0.1', () => {
    process.stdout.write('port ' + port + ' reset ' + reset.address().port + '\n');
  });
});
process.on('SIGTERM', () => process.exit(0));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
