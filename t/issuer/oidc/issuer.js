#!/usr/bin/env node
// issuer.js - a local Logto-like OpenID Connect issuer for the end-to-end
// tests and the demo, built on oidc-provider (the engine behind Logto's
// authorization server).
//
//   node issuer.js --port PORT [--alg ES384|RS256] [--ttl SECONDS]
//                  [--keys-file PATH] [--pid-file PATH]
//
// Issuer:    http://127.0.0.1:PORT/oidc
// Discovery: /oidc/.well-known/openid-configuration, JWKS: /oidc/jwks
// Grant:     client_credentials with an RFC 8707 resource indicator; the
//            access token is a JWT (typ at+jwt) for the one API resource.
//            With a DPoP header at the token endpoint it is DPoP-bound
//            (cnf.jkt, RFC 9449). Client demo-mtls gets certificate-bound
//            tokens (cnf["x5t#S256"], RFC 8705): the issuer speaks plain
//            HTTP, so its client certificate comes the way a TLS-terminating
//            proxy passes one, URL-encoded PEM in X-Client-Cert (loopback
//            only).
// Control (loopback only, for key rotation tests):
//   POST /control/rotate       new key first in the JWKS, old ones kept
//   POST /control/drop-old     keep only the newest key
//   GET  /control/jwks-fetches how many times /oidc/jwks was served
//   GET  /control/keys         the published kids, newest first
//
// --port 0 picks a free port; the line "ready ISSUER" on stdout tells it.

import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';

import Provider, { errors } from 'oidc-provider';

import { serve } from '../serve.js';

const MOUNT = '/oidc';
const RESOURCE = 'https://api.example.com/products';
const RESOURCE_SCOPES = ['read:products', 'write:products'];

// Which API scopes each machine-to-machine client has been granted.
const CLIENTS = [
    {
        client_id: 'demo-admin',
        client_secret: 'demo-admin-secret',
        scopes: ['read:products', 'write:products'],
    },
    {
        client_id: 'demo-reader',
        client_secret: 'demo-reader-secret',
        scopes: ['read:products'],
    },
    {
        client_id: 'demo-mtls',
        client_secret: 'demo-mtls-secret',
        scopes: ['read:products'],
        tls_client_certificate_bound_access_tokens: true,
    },
];

// The client certificate a TLS-terminating proxy in front would pass.
function clientCertificate(ctx)
{
    const v = ctx.get('x-client-cert');
    const a = ctx.req.socket.remoteAddress;
    if (!v || (a !== '127.0.0.1' && a !== '::ffff:127.0.0.1')) {
        return undefined;
    }
    return decodeURIComponent(v);
}

const KEY_SPECS = {
    ES384: { type: 'ec', options: { namedCurve: 'P-384' }, kty: 'EC' },
    RS256: { type: 'rsa', options: { modulusLength: 2048 }, kty: 'RSA' },
};

function usage(msg)
{
    if (msg) {
        process.stderr.write(`issuer: ${msg}\n`);
    }
    process.stderr.write('usage: node issuer.js --port PORT '
        + '[--alg ES384|RS256] [--ttl SECONDS] [--keys-file PATH] '
        + '[--pid-file PATH]\n');
    process.exit(2);
}

function parseArgs(argv)
{
    const opts = { alg: 'ES384', ttl: 3600, keysFile: null, pidFile: null };
    const names = {
        '--port': 'port', '--alg': 'alg', '--ttl': 'ttl',
        '--keys-file': 'keysFile', '--pid-file': 'pidFile',
    };

    for (let i = 0; i < argv.length; i += 1) {
        if (argv[i] === '--help' || argv[i] === '-h') {
            usage();
        }
        const name = names[argv[i]];
        if (!name) {
            usage(`unknown argument: ${argv[i]}`);
        }
        if (i + 1 >= argv.length) {
            usage(`${argv[i]} needs a value`);
        }
        opts[name] = argv[i + 1];
        i += 1;
    }

    if (opts.port === undefined || !/^\d+$/.test(opts.port)
        || Number(opts.port) > 65535) {
        usage('--port PORT is required (0-65535)');
    }
    opts.port = Number(opts.port);
    if (!KEY_SPECS[opts.alg]) {
        usage(`unsupported --alg ${opts.alg}`);
    }
    if (!/^\d+$/.test(String(opts.ttl)) || Number(opts.ttl) < 1) {
        usage('--ttl must be a positive number of seconds');
    }
    opts.ttl = Number(opts.ttl);
    return opts;
}

// The RFC 7638 thumbprint: stable for a key, so its kid never changes
// across restarts or rotations.
function thumbprint(jwk)
{
    const members = jwk.kty === 'EC'
        ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y }
        : { e: jwk.e, kty: jwk.kty, n: jwk.n };
    return crypto.createHash('sha256')
        .update(JSON.stringify(members)).digest('base64url');
}

function newKey(alg)
{
    const spec = KEY_SPECS[alg];
    const { privateKey } = crypto.generateKeyPairSync(spec.type,
        spec.options);
    const jwk = privateKey.export({ format: 'jwk' });
    return { ...jwk, kid: thumbprint(jwk), alg, use: 'sig' };
}

function loadKeys(file, alg)
{
    const set = JSON.parse(fs.readFileSync(file, 'utf8'));
    if (!Array.isArray(set.keys) || set.keys.length === 0) {
        throw new Error(`${file}: no keys`);
    }
    return set.keys.map((k) => {
        if (k.kty !== KEY_SPECS[alg].kty || !k.d) {
            throw new Error(`${file}: not a private ${alg} key set`);
        }
        return { ...k, kid: k.kid || thumbprint(k), alg, use: 'sig' };
    });
}

function saveKeys(file, keys)
{
    if (!file) {
        return;
    }
    const tmp = `${file}.tmp${process.pid}`;
    fs.writeFileSync(tmp, JSON.stringify({ keys }, null, 2) + '\n',
        { mode: 0o600 });
    fs.renameSync(tmp, file);
}

// The scopes of RESOURCE this client may hold; a request is trimmed to
// them, and refused when nothing it asked for is left.
function grantedScopes(ctx, client)
{
    const entry = CLIENTS.find((c) => c.client_id === client.clientId);
    const allowed = entry ? entry.scopes : [];
    const asked = (ctx.oidc.params?.scope || '').split(' ').filter(Boolean);
    const wanted = asked.filter((s) => RESOURCE_SCOPES.includes(s));

    if (wanted.length > 0 && !wanted.some((s) => allowed.includes(s))) {
        throw new errors.InvalidScope('requested scope is not granted',
            wanted.join(' '));
    }
    return allowed.join(' ');
}

// A process-wide in-memory store for the provider's stateful artifacts,
// shared by every Provider instance so a key rotation keeps them.
const STORE = new Map();

class MemoryStore {
    constructor(model)
    {
        this.model = model;
    }

    key(id)
    {
        return `${this.model}:${id}`;
    }

    async upsert(id, payload, expiresIn)
    {
        const expires = expiresIn ? Date.now() + expiresIn * 1000 : Infinity;
        STORE.set(this.key(id), { payload: { ...payload }, expires });
        if (payload.grantId) {
            const gk = `grant:${payload.grantId}`;
            STORE.set(gk, { ids: [...(STORE.get(gk)?.ids || []),
                this.key(id)], expires: Infinity });
        }
    }

    async find(id)
    {
        const entry = STORE.get(this.key(id));
        if (!entry || entry.expires < Date.now()) {
            STORE.delete(this.key(id));
            return undefined;
        }
        return entry.payload;
    }

    async findByUid(uid)
    {
        for (const [k, v] of STORE) {
            if (k.startsWith(`${this.model}:`) && v.payload?.uid === uid) {
                return this.find(k.slice(this.model.length + 1));
            }
        }
        return undefined;
    }

    async findByUserCode(userCode)
    {
        for (const [k, v] of STORE) {
            if (k.startsWith(`${this.model}:`)
                && v.payload?.userCode === userCode) {
                return this.find(k.slice(this.model.length + 1));
            }
        }
        return undefined;
    }

    async consume(id)
    {
        const entry = STORE.get(this.key(id));
        if (entry) {
            entry.payload.consumed = Math.floor(Date.now() / 1000);
        }
    }

    async destroy(id)
    {
        STORE.delete(this.key(id));
    }

    async revokeByGrantId(grantId)
    {
        const gk = `grant:${grantId}`;
        for (const k of STORE.get(gk)?.ids || []) {
            STORE.delete(k);
        }
        STORE.delete(gk);
    }
}

function buildProvider(issuer, keys, opts)
{
    const newestKid = keys[0].kid;
    const ttl = opts.ttl;

    const config = {
        adapter: MemoryStore,
        jwks: { keys },
        clients: CLIENTS.map((c) => ({
            client_id: c.client_id,
            client_secret: c.client_secret,
            grant_types: ['client_credentials'],
            response_types: [],
            redirect_uris: [],
            token_endpoint_auth_method: 'client_secret_basic',
            tls_client_certificate_bound_access_tokens:
                Boolean(c.tls_client_certificate_bound_access_tokens),
        })),
        clientAuthMethods: ['client_secret_basic', 'client_secret_post'],
        clientDefaults: { id_token_signed_response_alg: opts.alg },
        enabledJWA: { idTokenSigningAlgValues: [opts.alg] },
        scopes: ['openid'],
        // The API scopes are dynamic per resource, not static scopes.
        cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
        features: {
            devInteractions: { enabled: false },
            clientCredentials: { enabled: true },
            dPoP: { enabled: true },
            mTLS: {
                enabled: true,
                certificateBoundAccessTokens: true,
                getCertificate: clientCertificate,
            },
            introspection: { enabled: false },
            revocation: { enabled: false },
            resourceIndicators: {
                enabled: true,
                defaultResource: async (_ctx, _client, oneOf) => oneOf,
                useGrantedResource: async () => true,
                getResourceServerInfo: async (ctx, indicator, client) => {
                    if (indicator !== RESOURCE) {
                        throw new errors.InvalidTarget(
                            `unknown resource ${indicator}`);
                    }
                    return {
                        scope: grantedScopes(ctx, client),
                        audience: RESOURCE,
                        accessTokenTTL: ttl,
                        accessTokenFormat: 'jwt',
                        // The kid pins the newest key even when an old
                        // key of the same alg is still published.
                        jwt: { sign: { alg: opts.alg, kid: newestKid } },
                    };
                },
            },
        },
        ttl: {
            AccessToken: ttl,
            ClientCredentials: ttl,
            AuthorizationCode: 60,
            IdToken: ttl,
            RefreshToken: 86400,
            Interaction: 600,
            Session: 86400,
            Grant: 86400,
            DeviceCode: 600,
            BackchannelAuthenticationRequest: 600,
        },
        renderError: async (ctx, out) => {
            ctx.type = 'application/json';
            ctx.body = out;
        },
    };

    const provider = new Provider(issuer, config);
    provider.on('server_error', (_ctx, err) => {
        process.stderr.write(`issuer: server_error: ${err.stack}\n`);
    });
    return provider;
}

function isLoopback(req)
{
    const a = req.socket.remoteAddress;
    return a === '127.0.0.1' || a === '::ffff:127.0.0.1';
}

function sendJson(res, status, body)
{
    const text = JSON.stringify(body) + '\n';
    res.writeHead(status, {
        'Content-Type': 'application/json',
        'Content-Length': Buffer.byteLength(text),
        'Cache-Control': 'no-store',
    });
    res.end(text);
}

function main()
{
    const opts = parseArgs(process.argv.slice(2));
    let keys;

    if (opts.keysFile && fs.existsSync(opts.keysFile)) {
        keys = loadKeys(opts.keysFile, opts.alg);
    }
    else {
        keys = [newKey(opts.alg)];
        saveKeys(opts.keysFile, keys);
    }

    const state = { keys, provider: null, handler: null, jwksFetches: 0 };
    let issuer = null;

    // A fresh Provider is swapped in behind the server whenever the key
    // set changes: the keystore is fixed at construction.
    const install = () => {
        state.provider = buildProvider(issuer, state.keys, opts);
        state.handler = state.provider.callback();
        saveKeys(opts.keysFile, state.keys);
    };

    const control = (req, res, path) => {
        if (!isLoopback(req)) {
            sendJson(res, 403, { error: 'forbidden' });
            return;
        }
        const kids = () => state.keys.map((k) => k.kid);
        if (req.method === 'POST' && path === '/control/rotate') {
            state.keys = [newKey(opts.alg), ...state.keys];
            install();
            sendJson(res, 200, { kid: state.keys[0].kid, kids: kids() });
        }
        else if (req.method === 'POST' && path === '/control/drop-old') {
            state.keys = state.keys.slice(0, 1);
            install();
            sendJson(res, 200, { kid: state.keys[0].kid, kids: kids() });
        }
        else if (req.method === 'GET' && path === '/control/jwks-fetches') {
            sendJson(res, 200, { fetches: state.jwksFetches });
        }
        else if (req.method === 'GET' && path === '/control/keys') {
            sendJson(res, 200, { kid: state.keys[0].kid, kids: kids() });
        }
        else {
            sendJson(res, 404, { error: 'not_found' });
        }
    };

    const server = http.createServer((req, res) => {
        const path = (req.url || '/').split('?')[0];

        if (path === '/control' || path.startsWith('/control/')) {
            // Drain any request body before answering.
            req.resume();
            req.on('end', () => control(req, res, path));
            return;
        }
        if (path !== MOUNT && !path.startsWith(`${MOUNT}/`)) {
            sendJson(res, 404, { error: 'not_found' });
            return;
        }
        if (req.method === 'GET' && path === `${MOUNT}/jwks`) {
            res.on('finish', () => {
                if (res.statusCode === 200) {
                    state.jwksFetches += 1;
                }
            });
        }
        // Mount the provider at /oidc the way a framework router would:
        // it finds its mount path from originalUrl.
        req.originalUrl = req.url;
        req.url = req.url.slice(MOUNT.length) || '/';
        state.handler(req, res);
    });

    serve(server, { name: 'issuer', port: opts.port, pidFile: opts.pidFile },
        (port) => {
            issuer = `http://127.0.0.1:${port}${MOUNT}`;
            install();
            return `ready ${issuer} alg=${opts.alg} `
                + `ttl=${opts.ttl} kid=${state.keys[0].kid}\n`;
        });
}

try {
    main();
}
catch (err) {
    process.stderr.write(`issuer: ${err.message}\n`);
    process.exit(1);
}
