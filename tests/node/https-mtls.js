#!/usr/bin/env node
// A stand-in for a Fabric orderer's channel participation API (the admin
// endpoint, /participation/v1/channels) over HTTPS with mutual TLS, for the
// participation client's tests.  Only Node's own modules.
//
//   node https-mtls.js --cert F --key F --client-ca F
//                      [--system-channel=NAME] [--disabled]
//
// Listens on 127.0.0.1 on a port the kernel picks and prints "PORT n" on
// stdout once listening.  Client certificates are required and checked
// against --client-ca (requestCert + rejectUnauthorized).  Answers as
// Fabric 2.5 does: list, get (404 unknown), join by multipart form with a
// "config-block" file part (201; 405 "channel already exists"; 400 bad
// form or block), delete (204; 404 unknown); --system-channel makes every
// join a 405 "system channel exists"; --disabled answers 503 to all.
// The channel name is read from the block (Block.data[0] -> Envelope ->
// Payload -> Header -> ChannelHeader.channel_id).  Stops on SIGTERM.
'use strict';

const fs = require('fs');
const https = require('https');

const BASE = '/participation/v1/channels';

function parseArgs(argv) {
  const o = {};
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i];
    const eq = a.indexOf('=');
    if (a === '--disabled') o.disabled = true;
    else if (a.startsWith('--') && eq > 0) o[a.slice(2, eq)] = a.slice(eq + 1);
    else if (a.startsWith('--')) o[a.slice(2)] = argv[++i];
  }
  for (const k of ['cert', 'key', 'client-ca']) {
    if (!o[k]) {
      process.stderr.write(`https-mtls: --${k} is required\n`);
      process.exit(2);
    }
  }
  return o;
}

// ---- protobuf: just enough to find a length-delimited field ----------
function readVarint(buf, pos) {
  let v = 0, mul = 1;
  for (;;) {
    if (pos >= buf.length) throw new Error('truncated varint');
    const b = buf[pos++];
    v += (b & 0x7f) * mul;
    if (!(b & 0x80)) return [v, pos];
    mul *= 128;
    if (mul > 2 ** 56) throw new Error('varint too long');
  }
}

// First occurrence of length-delimited field `num` in a message.
function field(buf, num) {
  let pos = 0;
  while (pos < buf.length) {
    let key, len;
    [key, pos] = readVarint(buf, pos);
    const wt = key & 7, fnum = Math.floor(key / 8);
    if (wt === 0) { [, pos] = readVarint(buf, pos); continue; }
    if (wt === 1) { pos += 8; continue; }
    if (wt === 5) { pos += 4; continue; }
    if (wt !== 2) throw new Error('unsupported wire type ' + wt);
    [len, pos] = readVarint(buf, pos);
    if (pos + len > buf.length) throw new Error('truncated field');
    if (fnum === num) return buf.subarray(pos, pos + len);
    pos += len;
  }
  return null;
}

function channelOfBlock(block) {
  let m = block;
  // Block.data(2) -> BlockData.data(1) -> Envelope.payload(1)
  // -> Payload.header(1) -> Header.channel_header(1) -> channel_id(4)
  for (const n of [2, 1, 1, 1, 1, 4]) {
    m = field(m, n);
    if (!m) throw new Error('block has no channel header');
  }
  return m.toString('utf8');
}

// ---- multipart/form-data ----------------------------------------------
function parseMultipart(body, boundary) {
  const delim = Buffer.from('--' + boundary);
  const parts = [];
  let pos = body.indexOf(delim);
  if (pos < 0) throw new Error('no boundary in body');
  for (;;) {
    pos += delim.length;
    if (body.subarray(pos, pos + 2).toString() === '--') break;
    pos += 2; // CRLF
    const hdrEnd = body.indexOf('\r\n\r\n', pos);
    if (hdrEnd < 0) throw new Error('truncated part headers');
    const headers = body.subarray(pos, hdrEnd).toString('utf8');
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delim]), hdrEnd + 4);
    if (next < 0) throw new Error('unterminated part');
    const disp = /content-disposition:\s*form-data;([^\r\n]*)/i.exec(headers);
    const name = disp && /\bname="([^"]*)"/.exec(disp[1]);
    const filename = disp && /\bfilename="([^"]*)"/.exec(disp[1]);
    parts.push({
      name: name ? name[1] : null,
      filename: filename ? filename[1] : null,
      data: body.subarray(hdrEnd + 4, next),
    });
    pos = next + 2;
  }
  return parts;
}

// ---- the API --------------------------------------------------------------
function main() {
  const opt = parseArgs(process.argv);
  const channels = new Map(); // name -> info

  function send(res, status, obj, headers) {
    const h = Object.assign({ 'Content-Type': 'application/json' }, headers || {});
    res.writeHead(status, h);
    res.end(obj === undefined ? '' : JSON.stringify(obj) + '\n');
  }
  const fail = (res, status, msg, headers) => send(res, status, { error: msg }, headers);

  function join(req, res, body) {
    const ct = req.headers['content-type'] || '';
    const m = /^multipart\/form-data;\s*boundary=("?)([^";]+)\1/i.exec(ct);
    if (!m) return fail(res, 400, `unsupported Content-Type: [${ct}]`);
    let parts;
    try { parts = parseMultipart(body, m[2]); } catch (e) {
      return fail(res, 400, 'cannot read form from request body: ' + e.message);
    }
    const files = parts.filter((p) => p.filename !== null);
    if (!files.some((p) => p.name === 'config-block'))
      return fail(res, 400, 'form does not contains part key: config-block');
    if (parts.length !== 1) return fail(res, 400, 'form contains too many parts');
    let name;
    try { name = channelOfBlock(files[0].data); } catch (e) {
      return fail(res, 400, 'cannot unmarshal file part config-block into a block: ' + e.message);
    }
    if (!/^[a-z][a-z0-9.-]*$/.test(name)) return fail(res, 400, 'invalid join block: bad channel ID');
    if (opt['system-channel'])
      return fail(res, 405, 'cannot join: system channel exists', { Allow: 'GET' });
    if (channels.has(name))
      return fail(res, 405, 'cannot join: channel already exists', { Allow: 'GET, DELETE' });
    const info = { name, url: `${BASE}/${name}`, consensusRelation: 'consenter', status: 'active', height: 1 };
    channels.set(name, info);
    return send(res, 201, info, { Location: info.url });
  }

  function route(req, res, body) {
    if (!req.socket.authorized) return fail(res, 401, 'client certificate not authorized');
    if (opt.disabled) return fail(res, 503, 'channel participation API is disabled');
    const url = new URL(req.url, 'https://x');
    const p = url.pathname;
    if (p === BASE) {
      if (req.method === 'GET') {
        const list = [...channels.values()].map((c) => ({ name: c.name, url: c.url }));
        const sys = opt['system-channel'] ? { name: opt['system-channel'], url: `${BASE}/${opt['system-channel']}` } : null;
        return send(res, 200, { systemChannel: sys, channels: list.length ? list : null });
      }
      if (req.method === 'POST') return join(req, res, body);
      return fail(res, 405, `invalid request method: ${req.method}`, { Allow: 'GET, POST' });
    }
    if (p.startsWith(BASE + '/')) {
      const name = decodeURIComponent(p.slice(BASE.length + 1));
      if (!/^[a-z][a-z0-9.-]*$/.test(name)) return fail(res, 400, 'invalid channel ID');
      if (req.method === 'GET') {
        if (!channels.has(name)) return fail(res, 404, 'channel does not exist');
        return send(res, 200, channels.get(name));
      }
      if (req.method === 'DELETE') {
        if (!channels.delete(name)) return fail(res, 404, 'cannot remove: channel does not exist');
        res.writeHead(204);
        return res.end();
      }
      return fail(res, 405, `invalid request method: ${req.method}`, { Allow: 'GET, POST, DELETE' });
    }
    return fail(res, 404, 'not found');
  }

  const server = https.createServer({
    cert: fs.readFileSync(opt.cert),
    key: fs.readFileSync(opt.key),
    ca: fs.readFileSync(opt['client-ca']),
    requestCert: true,
    rejectUnauthorized: true,
  }, (req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => route(req, res, Buffer.concat(chunks)));
  });
  server.on('tlsClientError', (e) => process.stderr.write(`https-mtls: TLS refused: ${e.message}\n`));
  server.listen(0, '127.0.0.1', () => {
    process.stdout.write(`PORT ${server.address().port}\n`);
  });
  process.on('SIGTERM', () => process.exit(0));
}

main();
