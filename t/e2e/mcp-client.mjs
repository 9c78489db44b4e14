// mcp-client.mjs - what an MCP client does with a protected resource it
// knows only by URL (MCP authorization, RFC 9728, RFC 8414, RFC 8707):
//
//   1. GET the URL without a token: 401 with a Bearer challenge naming
//      resource_metadata;
//   2. GET that document: resource, authorization_servers,
//      scopes_supported, bearer_methods_supported;
//   3. the authorization server's metadata, by the well-known URLs MCP
//      clients try in turn (RFC 8414 path insertion, then OpenID Connect
//      discovery with path insertion, then appended);
//   4. a token from its token_endpoint for that resource and those scopes
//      (client_credentials here: no browser in a test);
//   5. GET the URL with the token: 200.
//
//   node mcp-client.mjs URL CLIENT_ID CLIENT_SECRET
//
// Prints TAP (without the plan line); exits 1 when a step failed.
const [url, clientId, clientSecret] = process.argv.slice(2);
const TIMEOUT_MS = 10000;
let n = 0;
let failed = 0;

function ok(cond, name, diag) {
    n += 1;
    process.stdout.write(`${cond ? 'ok' : 'not ok'} ${n} - ${name}\n`);
    if (!cond) {
        failed += 1;
        if (diag) {
            process.stdout.write(`# ${String(diag).replace(/\n/g, '\n# ')}\n`);
        }
    }
    return cond;
}

async function get(u, headers = {}) {
    return fetch(u, { headers, signal: AbortSignal.timeout(TIMEOUT_MS) });
}

async function json(res) {
    try {
        return JSON.parse(await res.text());
    }
    catch {
        return null;
    }
}

// The parameters of a Bearer challenge (RFC 6750 §3), quoted or not.
function bearerParams(header) {
    const m = /^Bearer\s+(.*)$/i.exec(header || '');
    const params = {};
    if (!m) {
        return null;
    }
    for (const p of m[1].matchAll(/([A-Za-z_]+)="((?:[^"\\]|\\.)*)"/g)) {
        params[p[1]] = p[2].replace(/\\(.)/g, '$1');
    }
    return params;
}

// RFC 8414 §3.1 and the MCP client's fallbacks, in order.
function asMetadataUrls(issuer) {
    const u = new URL(issuer);
    const path = u.pathname.replace(/\/$/, '');
    return [
        `${u.origin}/.well-known/oauth-authorization-server${path}`,
        `${u.origin}/.well-known/openid-configuration${path}`,
        `${u.origin}${path}/.well-known/openid-configuration`,
    ];
}

async function main() {
    // 1. the challenge
    let res = await get(url);
    ok(res.status === 401, 'no token: 401', `got ${res.status}`);
    const ch = bearerParams(res.headers.get('www-authenticate'));
    if (!ok(ch && ch.resource_metadata, 'the Bearer challenge names '
        + 'resource_metadata', res.headers.get('www-authenticate'))) {
        return;
    }

    // 2. the protected resource metadata
    res = await get(ch.resource_metadata);
    const prm = await json(res);
    ok(res.status === 200 && prm, 'resource_metadata: 200, JSON',
       `got ${res.status}`);
    if (!prm) {
        return;
    }
    const members = ['resource', 'authorization_servers', 'jwks_uri',
        'scopes_supported', 'bearer_methods_supported',
        'resource_signing_alg_values_supported', 'resource_name',
        'resource_documentation', 'resource_policy_uri', 'resource_tos_uri',
        'tls_client_certificate_bound_access_tokens',
        'authorization_details_types_supported',
        'dpop_signing_alg_values_supported',
        'dpop_bound_access_tokens_required'];
    const extra = Object.keys(prm).filter((k) => !members.includes(k));
    ok(extra.length === 0, 'only RFC 9728 members', extra.join(', '));
    ok(typeof prm.resource === 'string' && prm.resource.length > 0,
       'resource is named', JSON.stringify(prm));
    ok(Array.isArray(prm.authorization_servers)
       && prm.authorization_servers.length >= 1,
       'authorization_servers is a non-empty array', JSON.stringify(prm));
    ok(Array.isArray(prm.scopes_supported)
       && prm.scopes_supported.length >= 1,
       'scopes_supported lists the scopes to ask for', JSON.stringify(prm));
    ok(JSON.stringify(prm.bearer_methods_supported) === '["header"]',
       'bearer_methods_supported is ["header"]', JSON.stringify(prm));
    const issuer = (prm.authorization_servers || [])[0];
    if (!issuer) {
        return;
    }

    // 3. the authorization server's metadata
    let asm = null;
    let from = null;
    for (const u of asMetadataUrls(issuer)) {
        res = await get(u);
        const doc = res.status === 200 ? await json(res) : null;
        if (doc && doc.issuer === issuer) {
            asm = doc;
            from = u;
            break;
        }
    }
    if (!ok(asm && asm.token_endpoint, 'authorization server metadata found '
            + `(${from})`, issuer)) {
        return;
    }

    // 4. a token for the resource, with the advertised scopes
    const body = new URLSearchParams({
        grant_type: 'client_credentials',
        resource: prm.resource,
        scope: prm.scopes_supported.join(' '),
    });
    res = await fetch(asm.token_endpoint, {
        method: 'POST',
        headers: {
            'content-type': 'application/x-www-form-urlencoded',
            authorization: 'Basic ' + Buffer.from(
                `${encodeURIComponent(clientId)}:`
                + `${encodeURIComponent(clientSecret)}`).toString('base64'),
        },
        body,
        signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    const tok = await json(res);
    if (!ok(res.status === 200 && tok && tok.access_token,
            'a token from the token endpoint', JSON.stringify(tok))) {
        return;
    }
    const payload = JSON.parse(Buffer.from(
        tok.access_token.split('.')[1] || '', 'base64url').toString() || '{}');
    ok(payload.aud === prm.resource
       || (Array.isArray(payload.aud) && payload.aud.includes(prm.resource)),
       'the token is for the resource', JSON.stringify(payload.aud));

    // 5. the resource with the token
    res = await get(url, { authorization: `Bearer ${tok.access_token}` });
    ok(res.status === 200, 'with the token: 200', `got ${res.status}`);
}

try {
    await main();
}
catch (e) {
    ok(false, 'the discovery ran to its end', e.stack);
}
process.exit(failed ? 1 : 0);
