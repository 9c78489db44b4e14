#!/usr/bin/env node
// dpop-client.js - a DPoP client (RFC 9449) for the end-to-end tests, made
// with node jose: gets DPoP-bound (or certificate-bound) access tokens
// from the issuer and calls a protected URL with proofs, good ones and
// every kind of bad one.
//
//   dpop-client.js keygen --out KEY.json
//   dpop-client.js token --issuer URL --client ID --secret S --resource R
//                  [--scope S] [--key KEY.json] [--cert PEM-FILE]
//       prints the access token (DPoP-bound with --key)
//   dpop-client.js call --url URL --token T --key KEY.json --case CASE
//                  [--method GET]
//       prints the status, then the WWW-Authenticate header (one line)
//   dpop-client.js race --url URL --token T --key KEY.json --n N
//       sends one proof N times at once on N connections; prints
//       "accepted A refused R"
//
// Cases: good bearer none replay method url ath otherkey expired typ
// hs256 private.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';

import * as jose from 'jose';

const TIMEOUT_MS = 10000;

function die(msg)
{
    process.stderr.write(`dpop-client: ${msg}\n`);
    process.exit(1);
}

function parseArgs(argv)
{
    const opts = {};
    for (let i = 0; i < argv.length; i += 2) {
        if (!argv[i].startsWith('--') || i + 1 >= argv.length) {
            die(`bad argument ${argv[i]}`);
        }
        opts[argv[i].slice(2)] = argv[i + 1];
    }
    return opts;
}

async function loadKey(file)
{
    const jwk = JSON.parse(fs.readFileSync(file, 'utf8'));
    const { d, ...pub } = jwk;
    return { jwk, pub, key: await jose.importJWK(jwk, 'ES256') };
}

async function newKey()
{
    const { privateKey } = await jose.generateKeyPair('ES256',
        { extractable: true });
    const jwk = await jose.exportJWK(privateKey);
    const { d, ...pub } = jwk;
    return { jwk, pub, key: privateKey };
}

const ath = (token) => crypto.createHash('sha256').update(token)
    .digest('base64url');

// A proof; o overlays the header (header), the claims (claims), the
// signing key and alg.
async function proof(k, htm, htu, token, o = {})
{
    const claims = {
        jti: crypto.randomUUID(),
        htm,
        htu,
        iat: Math.floor(Date.now() / 1000),
        ...(token ? { ath: ath(token) } : {}),
        ...(o.claims || {}),
    };
    const header = { alg: o.alg || 'ES256', typ: 'dpop+jwt', jwk: k.pub,
        ...(o.header || {}) };
    return new jose.SignJWT(claims).setProtectedHeader(header)
        .sign(o.signKey || k.key);
}

// One HTTP request on its own connection: { status, wwwauth, body }.
function request(method, url, headers, body)
{
    return new Promise((resolve, reject) => {
        const req = http.request(url, { method, headers, agent: false,
            timeout: TIMEOUT_MS }, (res) => {
            let data = '';
            res.on('data', (c) => { data += c; });
            res.on('end', () => {
                const w = res.headers['www-authenticate'];
                resolve({ status: res.statusCode, body: data,
                    wwwauth: Array.isArray(w) ? w.join(', ') : (w || '') });
            });
        });
        req.on('timeout', () => req.destroy(new Error('timeout')));
        req.on('error', reject);
        req.end(body);
    });
}

async function discover(issuer)
{
    const r = await request('GET',
        `${issuer}/.well-known/openid-configuration`, {});
    if (r.status !== 200) {
        die(`discovery: ${r.status}`);
    }
    return JSON.parse(r.body).token_endpoint;
}

async function token(o)
{
    const endpoint = await discover(o.issuer);
    const form = new URLSearchParams({ grant_type: 'client_credentials',
        resource: o.resource, ...(o.scope ? { scope: o.scope } : {}) });
    const headers = {
        Authorization: `Basic ${Buffer.from(`${o.client}:${o.secret}`)
            .toString('base64')}`,
        'Content-Type': 'application/x-www-form-urlencoded',
    };
    if (o.key) {
        headers.DPoP = await proof(await loadKey(o.key), 'POST', endpoint);
    }
    if (o.cert) {
        headers['X-Client-Cert'] = encodeURIComponent(
            fs.readFileSync(o.cert, 'utf8'));
    }
    const r = await request('POST', endpoint, headers, form.toString());
    if (r.status !== 200) {
        die(`token endpoint: ${r.status} ${r.body}`);
    }
    const t = JSON.parse(r.body);
    process.stdout.write(`${t.access_token}\n`);
    process.stderr.write(`token_type ${t.token_type}\n`);
}

// The request of one case: [Authorization scheme, proof or null].
async function caseProof(name, k, method, url, tok)
{
    const other = await newKey();
    const now = Math.floor(Date.now() / 1000);
    switch (name) {
    case 'good':
    case 'replay':
        return proof(k, method, url, tok);
    case 'none':
        return null;
    case 'method':
        return proof(k, method === 'GET' ? 'POST' : 'GET', url, tok);
    case 'url':
        return proof(k, method, `${url}/other`, tok);
    case 'ath':
        return proof(k, method, url, `${tok}x`);
    case 'otherkey':
        return proof(other, method, url, tok);
    case 'expired':
        return proof(k, method, url, tok, { claims: { iat: now - 3600 } });
    case 'typ':
        return proof(k, method, url, tok, { header: { typ: 'JWT' } });
    case 'hs256':
        return proof(k, method, url, tok, { alg: 'HS256',
            signKey: new TextEncoder().encode('k'.repeat(32)) });
    case 'private':
        return proof(k, method, url, tok, { header: { jwk: k.jwk } });
    default:
        return die(`unknown case ${name}`);
    }
}

async function call(o)
{
    const k = await loadKey(o.key);
    const method = o.method || 'GET';
    const name = o.case || 'good';
    const headers = { Authorization: `${name === 'bearer' ? 'Bearer'
        : 'DPoP'} ${o.token}` };
    if (name !== 'bearer') {
        const p = await caseProof(name, k, method, o.url, o.token);
        if (p) {
            headers.DPoP = p;
        }
    }
    let r = await request(method, o.url, headers);
    if (name === 'replay') {
        r = await request(method, o.url, headers);
    }
    process.stdout.write(`${r.status}\n${r.wwwauth}\n`);
}

async function race(o)
{
    const k = await loadKey(o.key);
    const n = Number(o.n || 10);
    const headers = { Authorization: `DPoP ${o.token}`,
        DPoP: await proof(k, 'GET', o.url, o.token) };
    const all = await Promise.all(Array.from({ length: n },
        () => request('GET', o.url, headers)));
    const accepted = all.filter((r) => r.status === 200).length;
    const refused = all.filter((r) => r.status === 401).length;
    process.stdout.write(`accepted ${accepted} refused ${refused}\n`);
}

async function main()
{
    const [cmd, ...rest] = process.argv.slice(2);
    const o = parseArgs(rest);
    if (cmd === 'keygen') {
        const k = await newKey();
        fs.writeFileSync(o.out, JSON.stringify(k.jwk), { mode: 0o600 });
    }
    else if (cmd === 'token') {
        await token(o);
    }
    else if (cmd === 'call') {
        await call(o);
    }
    else if (cmd === 'race') {
        await race(o);
    }
    else {
        die('usage: keygen | token | call | race (see the source)');
    }
}

main().catch((err) => die(err.stack || String(err)));
