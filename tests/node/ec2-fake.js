// A fake EC2 Query API endpoint for the aws driver's tests (Node built-ins
// only). It speaks the documented 2016-11-15 XML, keeps the instance state
// machine (pending -> running, stopping -> stopped, shutting-down ->
// terminated, one step per DescribeInstances that sees the instance),
// paginates DescribeInstances with NextToken, makes RunInstances idempotent
// by ClientToken, throttles on demand (RequestLimitExceeded, 503) and
// verifies every request's Signature Version 4 on its own, with the keys it
// was given. /_control (unsigned JSON, 127.0.0.1 only) drives it from tests.
//
// Security groups: CreateSecurityGroup (InvalidGroup.Duplicate by name),
// DescribeSecurityGroups (GroupId.N, GroupName.N, Filter.N: group-id,
// group-name, vpc-id, tag:KEY; InvalidGroup.NotFound), and
// Authorize/RevokeSecurityGroupIngress with IpPermissions.N (IpProtocol,
// FromPort, ToPort, IpRanges.M.CidrIp, Groups.M.GroupId): an authorize that
// holds an existing rule fails whole with InvalidPermission.Duplicate, a
// revoke of a rule not there fails whole with InvalidPermission.NotFound.
// DeleteSecurityGroup fails with DependencyViolation while an instance not
// terminated is in the group or another group's rule names it.
// ModifyInstanceAttribute GroupId.N replaces an instance's groups (its
// groupSet in DescribeInstances); a group id of the fake's own form must exist.
//
//   node ec2-fake.js --port P --cert C --key K --creds FILE [--region R]
//   FILE: JSON {"AKID": {"secret": "...", "token": "..."|null}, ...}
'use strict';
const https = require('https');
const crypto = require('crypto');
const fs = require('fs');

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].slice(2)] = process.argv[i + 1];
const NS = 'http://ec2.amazonaws.com/doc/2016-11-15/';
const region = args.region || 'us-east-1';
let keys = JSON.parse(fs.readFileSync(args.creds, 'utf8'));

const st = {
  instances: new Map(), order: [], tokens: new Map(), seq: 0,
  throttle: 0, throttle503: 0, throttleRate: 0, retryAfter: null, latencyMs: 0,
  pageSize: 1000, lag: 0, calls: {}, signed: 0, expired: new Set(),
  groups: new Map(), gseq: 0, sgRace: null, sgBusy: 0,
};

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const STATE_CODES = { pending: 0, running: 16, 'shutting-down': 32, terminated: 48, stopping: 64, stopped: 80 };
const TYPES = { 't3.micro': [1, 2], 't3.small': [1, 2], 't3.large': [1, 2], 'm5.large': [1, 2], 'm5.xlarge': [2, 2], 'm5.2xlarge': [4, 2] };

function uriEnc(s) {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}
function hmac(k, m) { return crypto.createHmac('sha256', k).update(m, 'utf8').digest(); }

// Signature Version 4, written from the documented algorithm, independent
// of the driver's C code.
function verify(req, body) {
  const auth = req.headers.authorization || '';
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(auth);
  if (!m) return ['IncompleteSignature', 'Authorization header is missing or malformed'];
  const [, akid, date, reg, svc, signedHdrs, sig] = m;
  const key = keys[akid];
  if (!key) return ['AuthFailure', 'AWS was not able to validate the provided access credentials'];
  if (reg !== region || svc !== 'ec2') return ['AuthFailure', `Credential should be scoped to a valid region, not '${reg}'`];
  const amzDate = req.headers['x-amz-date'] || '';
  if (amzDate.slice(0, 8) !== date) return ['AuthFailure', 'Date in Credential scope does not match the X-Amz-Date header'];
  const names = signedHdrs.split(';');
  for (const n of ['host', 'x-amz-date']) if (!names.includes(n)) return ['AuthFailure', `SignedHeaders must include ${n}`];
  const tok = req.headers['x-amz-security-token'];
  if (key.token && tok !== key.token) return ['AuthFailure', 'AWS was not able to validate the provided access credentials'];
  if (tok && !names.includes('x-amz-security-token')) return ['AuthFailure', 'The security token must be signed'];
  if (tok && st.expired.has(tok)) return ['RequestExpired', 'The security token included in the request is expired'];
  const url = new URL(req.url, 'https://x');
  const q = [...url.searchParams].map(([k, v]) => [uriEnc(k), uriEnc(v)]).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  const canonHdrs = names.map((n) => `${n}:${String(req.headers[n] || '').trim().replace(/\s+/g, ' ')}\n`).join('');
  const creq = [req.method, url.pathname, q.map((p) => p.join('=')).join('&'), canonHdrs, signedHdrs,
    crypto.createHash('sha256').update(body).digest('hex')].join('\n');
  const sts = ['AWS4-HMAC-SHA256', amzDate, `${date}/${reg}/${svc}/aws4_request`,
    crypto.createHash('sha256').update(creq).digest('hex')].join('\n');
  let k = hmac('AWS4' + key.secret, date);
  k = hmac(k, reg); k = hmac(k, svc); k = hmac(k, 'aws4_request');
  const want = hmac(k, sts).toString('hex');
  if (!crypto.timingSafeEqual(Buffer.from(want), Buffer.from(sig)))
    return ['AuthFailure', 'The request signature we calculated does not match the signature you provided'];
  return null;
}

function errorXml(res, status, code, msg, extra) {
  const h = { 'Content-Type': 'text/xml;charset=UTF-8' };
  if (extra) Object.assign(h, extra);
  res.writeHead(status, h);
  res.end(`<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${esc(code)}</Code><Message>${esc(msg)}</Message></Error></Errors><RequestID>${crypto.randomUUID()}</RequestID></Response>`);
}
function ok(res, action, inner) {
  res.writeHead(200, { 'Content-Type': 'text/xml;charset=UTF-8' });
  res.end(`<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${NS}"><requestId>${crypto.randomUUID()}</requestId>${inner}</${action}Response>`);
}

function list(p, prefix) { // Prefix.1, Prefix.2, ...
  const out = [];
  for (let i = 1; p.has(`${prefix}.${i}`); i++) out.push(p.get(`${prefix}.${i}`));
  return out;
}

function instXml(i) {
  const tags = [...i.tags].map(([k, v]) => `<item><key>${esc(k)}</key><value>${esc(v)}</value></item>`).join('');
  const cpu = TYPES[i.type] || [1, 2];
  return `<item><instanceId>${i.id}</instanceId><imageId>${esc(i.image)}</imageId>` +
    `<instanceState><code>${STATE_CODES[i.state]}</code><name>${i.state}</name></instanceState>` +
    `<privateDnsName>ip-${i.ip.replace(/\./g, '-')}.ec2.internal</privateDnsName>` +
    (i.state === 'running' ? `<privateIpAddress>${i.ip}</privateIpAddress>` : `<privateIpAddress>${i.ip}</privateIpAddress>`) +
    `<keyName>${esc(i.keyName)}</keyName><instanceType>${esc(i.type)}</instanceType>` +
    `<subnetId>${esc(i.subnet)}</subnetId><clientToken>${esc(i.token)}</clientToken>` +
    `<groupSet>${i.groups.map((g) => `<item><groupId>${esc(g)}</groupId></item>`).join('')}</groupSet>` +
    `<tagSet>${tags}</tagSet><cpuOptions><coreCount>${cpu[0]}</coreCount><threadsPerCore>${cpu[1]}</threadsPerCore></cpuOptions></item>`;
}

function step(i) { // one step of the state machine per observation
  const next = { pending: 'running', stopping: 'stopped', 'shutting-down': 'terminated' }[i.state];
  if (next) i.state = next;
}

function runInstances(p, res) {
  const token = p.get('ClientToken') || '';
  if (token.length > 64) return errorXml(res, 400, 'InvalidParameterValue', 'ClientToken is longer than 64 characters');
  if (token && st.tokens.has(token)) {
    const i = st.instances.get(st.tokens.get(token));
    return ok(res, 'RunInstances', `<reservationId>${i.rid}</reservationId><ownerId>123456789012</ownerId><groupSet/><instancesSet>${instXml(i)}</instancesSet>`);
  }
  for (const n of ['ImageId', 'InstanceType', 'MinCount', 'MaxCount'])
    if (!p.get(n)) return errorXml(res, 400, 'MissingParameter', `The request must contain the parameter ${n}`);
  if (!TYPES[p.get('InstanceType')]) return errorXml(res, 400, 'InvalidParameterValue', `Invalid value '${p.get('InstanceType')}' for InstanceType.`);
  st.seq++;
  const id = 'i-' + st.seq.toString(16).padStart(17, '0');
  const tags = new Map();
  for (let t = 1; p.has(`TagSpecification.${t}.ResourceType`); t++)
    for (let k = 1; p.has(`TagSpecification.${t}.Tag.${k}.Key`); k++)
      tags.set(p.get(`TagSpecification.${t}.Tag.${k}.Key`), p.get(`TagSpecification.${t}.Tag.${k}.Value`) || '');
  const i = {
    id, rid: 'r-' + st.seq.toString(16).padStart(17, '0'), image: p.get('ImageId'), type: p.get('InstanceType'),
    state: 'pending', ip: `10.0.${(st.seq >> 8) & 255}.${st.seq & 255}`, token, tags,
    keyName: p.get('KeyName') || '', subnet: p.get('SubnetId') || '', groups: list(p, 'SecurityGroupId'),
    userData: p.get('UserData') || '', hiddenFor: st.lag,
  };
  st.instances.set(id, i);
  st.order.push(id);
  if (token) st.tokens.set(token, id);
  ok(res, 'RunInstances', `<reservationId>${i.rid}</reservationId><ownerId>123456789012</ownerId><groupSet/><instancesSet>${instXml(i)}</instancesSet>`);
}

function matches(i, filters, ids) {
  if (ids.length && !ids.includes(i.id)) return false;
  for (const [name, vals] of filters) {
    let v;
    if (name.startsWith('tag:')) v = i.tags.get(name.slice(4));
    else if (name === 'instance-state-name') v = i.state;
    else if (name === 'client-token') v = i.token;
    else if (name === 'instance-id') v = i.id;
    else return false;
    if (v === undefined || !vals.includes(v)) return false;
  }
  return true;
}

function describeInstances(p, res) {
  const ids = list(p, 'InstanceId');
  const filters = [];
  for (let f = 1; p.has(`Filter.${f}.Name`); f++) filters.push([p.get(`Filter.${f}.Name`), list(p, `Filter.${f}.Value`)]);
  for (const id of ids) if (!st.instances.has(id))
    return errorXml(res, 400, 'InvalidInstanceID.NotFound', `The instance ID '${id}' does not exist`);
  const max = Math.min(parseInt(p.get('MaxResults') || '1000', 10), st.pageSize);
  const start = p.get('NextToken') ? parseInt(Buffer.from(p.get('NextToken'), 'base64').toString(), 10) : 0;
  // pages are cut from every instance, then filtered: EC2 documents that
  // a filtered page may hold fewer than MaxResults, even none, with a
  // NextToken, so a client must follow NextToken to the end
  const all = st.order.map((id) => st.instances.get(id));
  const page = all.slice(start, start + max).filter((i) => {
    if (filters.length && i.hiddenFor > 0) { i.hiddenFor--; return false; } // eventual consistency
    return matches(i, filters, ids);
  });
  page.forEach(step);
  const next = start + max < all.length ? `<nextToken>${Buffer.from(String(start + max)).toString('base64')}</nextToken>` : '';
  const rs = page.map((i) => `<item><reservationId>${i.rid}</reservationId><ownerId>123456789012</ownerId><groupSet/><instancesSet>${instXml(i)}</instancesSet></item>`).join('');
  ok(res, 'DescribeInstances', `<reservationSet>${rs}</reservationSet>${next}`);
}

function stateChange(p, res, action, from, to) {
  const ids = list(p, 'InstanceId');
  if (!ids.length) return errorXml(res, 400, 'MissingParameter', 'The request must contain the parameter InstanceId');
  let items = '';
  for (const id of ids) {
    const i = st.instances.get(id);
    if (!i) return errorXml(res, 400, 'InvalidInstanceID.NotFound', `The instance ID '${id}' does not exist`);
    const prev = i.state;
    if (from && !from.includes(i.state) && i.state !== to[1])
      return errorXml(res, 400, 'IncorrectInstanceState', `The instance '${id}' is not in a state from which it can be ${action}`);
    if (i.state !== to[1] && !(action === 'TerminateInstances' && i.state === 'terminated')) i.state = to[0];
    items += `<item><instanceId>${id}</instanceId><currentState><code>${STATE_CODES[i.state]}</code><name>${i.state}</name></currentState><previousState><code>${STATE_CODES[prev]}</code><name>${prev}</name></previousState></item>`;
  }
  ok(res, action, `<instancesSet>${items}</instancesSet>`);
}

function modifyAttr(p, res) {
  const i = st.instances.get(p.get('InstanceId') || '');
  if (!i) return errorXml(res, 400, 'InvalidInstanceID.NotFound', `The instance ID '${p.get('InstanceId')}' does not exist`);
  const t = p.get('InstanceType.Value');
  if (t) {
    if (i.state !== 'stopped') return errorXml(res, 400, 'IncorrectInstanceState', `The instance '${i.id}' is not in the 'stopped' state.`);
    if (!TYPES[t]) return errorXml(res, 400, 'InvalidParameterValue', `Invalid value '${t}' for InstanceType.`);
    i.type = t;
  }
  const groups = list(p, 'GroupId'); // replaces the instance's groups (VPC)
  if (groups.length) {
    for (const g of groups)
      if (!/^sg-[0-9a-f]+$/.test(g) || (g.length === 20 && !st.groups.has(g)))
        return errorXml(res, 400, 'InvalidGroup.NotFound', `The security group '${g}' does not exist`);
    i.groups = groups;
  }
  ok(res, 'ModifyInstanceAttribute', '<return>true</return>');
}

function createTags(p, res) {
  const ids = list(p, 'ResourceId');
  for (const id of ids) {
    const i = st.instances.get(id);
    if (!i) return errorXml(res, 400, 'InvalidID', `The ID '${id}' is not valid`);
    for (let k = 1; p.has(`Tag.${k}.Key`); k++) i.tags.set(p.get(`Tag.${k}.Key`), p.get(`Tag.${k}.Value`) || '');
  }
  ok(res, 'CreateTags', '<return>true</return>');
}

// ---- security groups ----
function tagsOf(p, type) {
  const tags = new Map();
  for (let t = 1; p.has(`TagSpecification.${t}.ResourceType`); t++) {
    if (p.get(`TagSpecification.${t}.ResourceType`) !== type) continue;
    for (let k = 1; p.has(`TagSpecification.${t}.Tag.${k}.Key`); k++)
      tags.set(p.get(`TagSpecification.${t}.Tag.${k}.Key`), p.get(`TagSpecification.${t}.Tag.${k}.Value`) || '');
  }
  return tags;
}
const ruleKey = (r) => `${r.proto}/${r.from}/${r.to}/${r.src}`;
function permsOf(p) { // one rule per source
  const rules = [];
  for (let n = 1; p.has(`IpPermissions.${n}.IpProtocol`); n++) {
    const proto = p.get(`IpPermissions.${n}.IpProtocol`);
    const from = parseInt(p.get(`IpPermissions.${n}.FromPort`) || '-1', 10);
    const to = parseInt(p.get(`IpPermissions.${n}.ToPort`) || '-1', 10);
    for (let m = 1; p.has(`IpPermissions.${n}.IpRanges.${m}.CidrIp`); m++)
      rules.push({ proto, from, to, src: p.get(`IpPermissions.${n}.IpRanges.${m}.CidrIp`) });
    for (let m = 1; p.has(`IpPermissions.${n}.Groups.${m}.GroupId`); m++)
      rules.push({ proto, from, to, src: p.get(`IpPermissions.${n}.Groups.${m}.GroupId`) });
  }
  return rules;
}
function groupXml(g) {
  const perms = [...g.rules.values()].map((r) => `<item><ipProtocol>${esc(r.proto)}</ipProtocol>` +
    `<fromPort>${r.from}</fromPort><toPort>${r.to}</toPort>` +
    (r.src.startsWith('sg-') ? `<groups><item><userId>123456789012</userId><groupId>${esc(r.src)}</groupId></item></groups><ipRanges/>`
      : `<groups/><ipRanges><item><cidrIp>${esc(r.src)}</cidrIp></item></ipRanges>`) +
    '<ipv6Ranges/><prefixListIds/></item>').join('');
  const tags = [...g.tags].map(([k, v]) => `<item><key>${esc(k)}</key><value>${esc(v)}</value></item>`).join('');
  return `<item><ownerId>123456789012</ownerId><groupId>${g.id}</groupId><groupName>${esc(g.name)}</groupName>` +
    `<groupDescription>${esc(g.desc)}</groupDescription><vpcId>${esc(g.vpc)}</vpcId>` +
    `<ipPermissions>${perms}</ipPermissions><ipPermissionsEgress><item><ipProtocol>-1</ipProtocol><groups/>` +
    `<ipRanges><item><cidrIp>0.0.0.0/0</cidrIp></item></ipRanges><ipv6Ranges/><prefixListIds/></item></ipPermissionsEgress>` +
    `<tagSet>${tags}</tagSet></item>`;
}
function createSecurityGroup(p, res) {
  const name = p.get('GroupName');
  const vpc = p.get('VpcId') || 'vpc-0default';
  if (!name) return errorXml(res, 400, 'MissingParameter', 'The request must contain the parameter groupName');
  if (!p.get('GroupDescription')) return errorXml(res, 400, 'MissingParameter', 'The request must contain the parameter groupDescription');
  for (const g of st.groups.values())
    if (g.name === name && g.vpc === vpc) return errorXml(res, 400, 'InvalidGroup.Duplicate', `The security group '${name}' already exists for VPC '${vpc}'`);
  st.gseq++;
  const id = 'sg-' + st.gseq.toString(16).padStart(17, '0');
  const g = { id, name, desc: p.get('GroupDescription'), vpc, tags: tagsOf(p, 'security-group'), rules: new Map() };
  st.groups.set(id, g);
  const tags = [...g.tags].map(([k, v]) => `<item><key>${esc(k)}</key><value>${esc(v)}</value></item>`).join('');
  ok(res, 'CreateSecurityGroup', `<return>true</return><groupId>${id}</groupId><tagSet>${tags}</tagSet>`);
}
function describeSecurityGroups(p, res) {
  const ids = list(p, 'GroupId');
  const names = list(p, 'GroupName');
  const filters = [];
  for (let f = 1; p.has(`Filter.${f}.Name`); f++) filters.push([p.get(`Filter.${f}.Name`), list(p, `Filter.${f}.Value`)]);
  for (const id of ids) if (!st.groups.has(id))
    return errorXml(res, 400, 'InvalidGroup.NotFound', `The security group '${id}' does not exist`);
  const out = [...st.groups.values()].filter((g) => {
    if (ids.length && !ids.includes(g.id)) return false;
    if (names.length && !names.includes(g.name)) return false;
    for (const [name, vals] of filters) {
      let v;
      if (name.startsWith('tag:')) v = g.tags.get(name.slice(4));
      else if (name === 'group-id') v = g.id;
      else if (name === 'group-name') v = g.name;
      else if (name === 'vpc-id') v = g.vpc;
      else return false;
      if (v === undefined || !vals.includes(v)) return false;
    }
    return true;
  });
  ok(res, 'DescribeSecurityGroups', `<securityGroupInfo>${out.map(groupXml).join('')}</securityGroupInfo>`);
  if (st.sgRace && out.some((g) => g.id === st.sgRace.group) && st.sgRace.skip-- <= 0) { // a concurrent writer
    const g = st.groups.get(st.sgRace.group);
    if (st.sgRace.add) g.rules.set(ruleKey(st.sgRace.add), st.sgRace.add);
    if (st.sgRace.revoke) g.rules.delete(ruleKey(st.sgRace.revoke));
    st.sgRace = null;
  }
}
function deleteSecurityGroup(p, res) {
  const g = st.groups.get(p.get('GroupId') || '');
  if (!g) return errorXml(res, 400, 'InvalidGroup.NotFound', `The security group '${p.get('GroupId')}' does not exist`);
  const users = [...st.instances.values()].filter((i) => i.state !== 'terminated' && i.groups.includes(g.id));
  const refs = [...st.groups.values()].filter((o) => o !== g && [...o.rules.values()].some((r) => r.src === g.id));
  if (users.length || refs.length || st.sgBusy > 0) {
    if (st.sgBusy > 0) st.sgBusy--;
    return errorXml(res, 400, 'DependencyViolation', `resource ${g.id} has a dependent object`);
  }
  st.groups.delete(g.id);
  ok(res, 'DeleteSecurityGroup', '<return>true</return>');
}
function ingress(p, res, action) {
  const g = st.groups.get(p.get('GroupId') || '');
  if (!g) return errorXml(res, 400, 'InvalidGroup.NotFound', `The security group '${p.get('GroupId')}' does not exist`);
  const rules = permsOf(p);
  if (!rules.length) return errorXml(res, 400, 'MissingParameter', 'No IpPermissions given');
  for (const r of rules) {
    if (r.src.startsWith('sg-') && !st.groups.has(r.src))
      return errorXml(res, 400, 'InvalidGroup.NotFound', `The security group '${r.src}' does not exist`);
    const have = g.rules.has(ruleKey(r));
    if (action === 'AuthorizeSecurityGroupIngress' && have)
      return errorXml(res, 400, 'InvalidPermission.Duplicate', `the specified rule "peer: ${r.src}, ${r.proto.toUpperCase()}, from port: ${r.from}, to port: ${r.to}, ALLOW" already exists`);
    if (action === 'RevokeSecurityGroupIngress' && !have)
      return errorXml(res, 400, 'InvalidPermission.NotFound', 'The specified rule does not exist in this security group.');
  }
  for (const r of rules) {
    if (action === 'AuthorizeSecurityGroupIngress') g.rules.set(ruleKey(r), r);
    else g.rules.delete(ruleKey(r));
  }
  ok(res, action, '<return>true</return>');
}

const ACTIONS = {
  CreateSecurityGroup: createSecurityGroup,
  DescribeSecurityGroups: describeSecurityGroups,
  DeleteSecurityGroup: deleteSecurityGroup,
  AuthorizeSecurityGroupIngress: (p, r) => ingress(p, r, 'AuthorizeSecurityGroupIngress'),
  RevokeSecurityGroupIngress: (p, r) => ingress(p, r, 'RevokeSecurityGroupIngress'),
  RunInstances: runInstances,
  DescribeInstances: describeInstances,
  TerminateInstances: (p, r) => stateChange(p, r, 'TerminateInstances', null, ['shutting-down', 'terminated']),
  StopInstances: (p, r) => stateChange(p, r, 'StopInstances', ['running', 'pending'], ['stopping', 'stopped']),
  StartInstances: (p, r) => stateChange(p, r, 'StartInstances', ['stopped'], ['pending', 'running']),
  ModifyInstanceAttribute: modifyAttr,
  CreateTags: createTags,
};

function control(body, res) {
  const c = JSON.parse(body || '{}');
  const i = c.id ? st.instances.get(c.id) : null;
  switch (c.op) {
    case 'throttle': st.throttle = c.count || 0; st.throttle503 = c.status503 || 0; st.retryAfter = c.retry_after || null; break;
    case 'throttle_rate': st.throttleRate = c.rate || 0; break;
    case 'latency': st.latencyMs = c.ms || 0; break;
    case 'page_size': st.pageSize = c.size || 1000; break;
    case 'lag': st.lag = c.count || 0; break;
    case 'keys': keys = c.keys; break;
    case 'expire': st.expired.add(c.token); break;
    case 'hide': // from the next N filtered DescribeInstances (eventual consistency)
      if (!i) { res.writeHead(404); return res.end('{}'); }
      i.hiddenFor = c.count || 0;
      break;
    case 'set': // behind ledgerform's back
      if (!i) { res.writeHead(404); return res.end('{}'); }
      if (c.state) i.state = c.state;
      if (c.type) i.type = c.type;
      break;
    case 'run': { // an instance made outside ledgerform (the console), running
      st.seq++;
      const id = 'i-' + st.seq.toString(16).padStart(17, '0');
      st.instances.set(id, {
        id, rid: 'r-' + st.seq.toString(16).padStart(17, '0'), image: c.image || 'ami-0console',
        type: c.type || 't3.small', state: 'running', ip: `10.9.${(st.seq >> 8) & 255}.${st.seq & 255}`,
        token: '', tags: new Map(Object.entries(c.tags || {})), keyName: '', subnet: '', groups: c.groups || [],
        userData: '', hiddenFor: 0,
      });
      st.order.push(id);
      break;
    }
    case 'sg_revoke': { // a rule removed behind ledgerform's back
      const g = st.groups.get(c.group);
      if (!g) { res.writeHead(404); return res.end('{}'); }
      g.rules.delete(ruleKey(c.rule));
      break;
    }
    case 'sg_add': { // a rule added behind ledgerform's back
      const g = st.groups.get(c.group);
      if (!g) { res.writeHead(404); return res.end('{}'); }
      g.rules.set(ruleKey(c.rule), c.rule);
      break;
    }
    case 'sg_race': // right after the group's next describe (past `skip` ones), another writer adds or revokes a rule
      st.sgRace = { group: c.group, add: c.add || null, revoke: c.revoke || null, skip: c.skip || 0 };
      break;
    case 'sg_busy': // the next N DeleteSecurityGroup fail with DependencyViolation (EC2's lag)
      st.sgBusy = c.count || 0;
      break;
    case 'stats': break;
    default: res.writeHead(400); return res.end('{"error":"unknown op"}');
  }
  const inst = st.order.map((id) => st.instances.get(id)).map((x) => ({
    id: x.id, state: x.state, type: x.type, token: x.token, tags: Object.fromEntries(x.tags),
    image: x.image, key_name: x.keyName, subnet: x.subnet, groups: x.groups, user_data: x.userData,
  }));
  res.writeHead(200, { 'Content-Type': 'application/json' });
  const groups = [...st.groups.values()].map((g) => ({
    id: g.id, name: g.name, vpc: g.vpc, tags: Object.fromEntries(g.tags), rules: [...g.rules.keys()].sort(),
  }));
  res.end(JSON.stringify({ calls: st.calls, signed: st.signed, instances: inst, groups }));
}

function handle(req, res, body) {
  if (req.url.startsWith('/_control')) return control(body, res);
  const bad = verify(req, body);
  if (bad) return errorXml(res, bad[0] === 'RequestExpired' ? 400 : 401, bad[0], bad[1]);
  st.signed++;
  const p = new URLSearchParams(body);
  const action = p.get('Action');
  st.calls[action] = (st.calls[action] || 0) + 1;
  st.calls.total = (st.calls.total || 0) + 1;
  if (p.get('Version') !== '2016-11-15') return errorXml(res, 400, 'InvalidParameterValue', 'Version must be 2016-11-15');
  if (st.throttle > 0 || (st.throttleRate > 0 && Math.random() < st.throttleRate)) {
    if (st.throttle > 0) st.throttle--;
    st.calls.throttled = (st.calls.throttled || 0) + 1;
    const extra = st.retryAfter ? { 'Retry-After': String(st.retryAfter) } : null;
    if (st.throttle503 > 0) { st.throttle503--; return errorXml(res, 503, 'Unavailable', 'The server is overloaded', extra); }
    return errorXml(res, 503, 'RequestLimitExceeded', 'Request limit exceeded.', extra);
  }
  const fn = ACTIONS[action];
  if (!fn) return errorXml(res, 400, 'InvalidAction', `The action ${action} is not valid for this web service.`);
  fn(p, res);
}

const srv = https.createServer({ cert: fs.readFileSync(args.cert), key: fs.readFileSync(args.key) }, (req, res) => {
  const chunks = [];
  req.on('data', (d) => chunks.push(d));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    const go = () => { try { handle(req, res, body); } catch (e) { errorXml(res, 500, 'InternalError', 'An internal error has occurred'); } };
    if (st.latencyMs > 0 && !req.url.startsWith('/_control')) setTimeout(go, st.latencyMs); else go();
  });
});
srv.keepAliveTimeout = 30000;
srv.listen(parseInt(args.port, 10), '127.0.0.1', () => { process.stdout.write(`PORT ${srv.address().port}\n`); });
process.on('SIGTERM', () => process.exit(0));
