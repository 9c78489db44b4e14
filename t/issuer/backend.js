#!/usr/bin/env node
// backend.js - a tiny products API to put behind httpd in the demo and the
// end-to-end tests. Node built-ins only.
//
//   node backend.js --port PORT [--pid-file PATH]
//
// GET    /api/products[/ID]  the product list (or one product)
// POST   /api/products       echoes the JSON body it was sent
// PUT    /api/products/ID    echoes the JSON body it was sent
// DELETE /api/products/ID    says what would have been deleted
//
// Every answer carries "seen": the request headers that tell what the
// proxy in front of it forwarded (the claim headers, whether an
// Authorization header arrived, X-Forwarded-*), so a test or a person can
// check that nothing spoofed got through; each request served is logged
// as one JSON line on stdout. --port 0 picks a free port; the
// line "ready http://127.0.0.1:PORT" on stdout tells it.
'use strict';

const http = require('node:http');
const { serve } = require('./serve');

const PRODUCTS = [
    { id: 1, name: 'Espresso beans', price: 12.5 },
    { id: 2, name: 'Pour-over kettle', price: 39 },
    { id: 3, name: 'Burr grinder', price: 89 },
];
const MAX_BODY = 64 * 1024;

function usage(msg)
{
    if (msg) {
        process.stderr.write(`backend: ${msg}\n`);
    }
    process.stderr.write('usage: node backend.js --port PORT '
        + '[--pid-file PATH]\n');
    process.exit(2);
}

function parseArgs(argv)
{
    const opts = { pidFile: null };
    const names = { '--port': 'port', '--pid-file': 'pidFile' };

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
    return opts;
}

// What the proxy forwarded. Headers that did not arrive are null, so a
// spoofed header that got through would show up as a value. Every header
// whose name merely resembles a claim header (x_logto_user, ...) is listed
// too, since some frameworks fold '_' into '-'.
function seen(req)
{
    const h = req.headers;
    const lookalikes = Object.keys(h)
        .filter((k) => /^x[-_]logto[-_]/.test(k)
            && k !== 'x-logto-user' && k !== 'x-logto-scope');
    const out = {
        'x-logto-user': h['x-logto-user'] ?? null,
        'x-logto-scope': h['x-logto-scope'] ?? null,
        authorization: h.authorization ? 'yes' : 'no',
        'x-forwarded-for': h['x-forwarded-for'] ?? null,
        'x-forwarded-host': h['x-forwarded-host'] ?? null,
    };
    if (lookalikes.length > 0) {
        out.other = Object.fromEntries(lookalikes.map((k) => [k, h[k]]));
    }
    return out;
}

function send(res, status, body)
{
    const text = JSON.stringify(body, null, 2) + '\n';
    res.writeHead(status, {
        'Content-Type': 'application/json',
        'Content-Length': Buffer.byteLength(text),
        'Cache-Control': 'no-store',
    });
    res.end(text);
}

function parseBody(text)
{
    if (text.length === 0) {
        return null;
    }
    try {
        return JSON.parse(text);
    }
    catch {
        return { raw: text };
    }
}

function route(req, res, text)
{
    const path = (req.url || '/').split('?')[0];
    const m = /^\/api\/products(?:\/([^/]+))?\/?$/.exec(path);
    const s = seen(req);

    // One line per request served, after the ready line.
    process.stdout.write(`${JSON.stringify({ method: req.method, path,
        seen: s })}\n`);

    if (!m) {
        send(res, 404, { error: 'not_found', path, seen: s });
        return;
    }
    const id = m[1] ?? null;
    switch (req.method) {
    case 'GET':
    case 'HEAD':
        if (id === null) {
            send(res, 200, { products: PRODUCTS, seen: s });
        }
        else {
            const p = PRODUCTS.find((x) => String(x.id) === id);
            send(res, p ? 200 : 404, p ? { product: p, seen: s }
                : { error: 'not_found', id, seen: s });
        }
        break;
    case 'POST':
        send(res, 200, { created: parseBody(text), seen: s });
        break;
    case 'PUT':
        send(res, 200, { updated: id, with: parseBody(text), seen: s });
        break;
    case 'DELETE':
        send(res, 200, { deleted: id, seen: s });
        break;
    default:
        send(res, 405, { error: 'method_not_allowed', seen: s });
    }
}

function main()
{
    const opts = parseArgs(process.argv.slice(2));

    const server = http.createServer((req, res) => {
        const chunks = [];
        let size = 0;
        req.on('data', (c) => {
            size += c.length;
            if (size <= MAX_BODY) {
                chunks.push(c);
            }
        });
        req.on('end', () => {
            if (size > MAX_BODY) {
                send(res, 413, { error: 'body_too_large', seen: seen(req) });
                return;
            }
            route(req, res, Buffer.concat(chunks).toString('utf8'));
        });
    });

    serve(server, { name: 'backend', port: opts.port, pidFile: opts.pidFile },
        (port) => `ready http://127.0.0.1:${port}\n`);
}

main();
