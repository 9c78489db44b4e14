// mint.mjs - access tokens for bench/run, signed with jose (an
// implementation independent of the module):
//   [BENCH_SCOPE=S] node mint.mjs KEY.pem ALG KID COUNT PREFIX > tokens.txt
// One Logto-shaped token per line, each with its own sub and jti, valid
// for 30 days, so a token list can serve several runs; scope S
// (read:products unless given).
import { readFileSync } from 'node:fs';
import { importPKCS8, SignJWT } from 'jose';

const [pem, alg, kid, count, prefix] = process.argv.slice(2);
const key = await importPKCS8(readFileSync(pem, 'utf8'), alg);
const now = Math.floor(Date.now() / 1000);
const lines = [];
for (let i = 0; i < Number(count); i++) {
  lines.push(await new SignJWT({
    client_id: 'bench-client',
    scope: process.env.BENCH_SCOPE || 'read:products',
    sub: `${prefix}-${i}`,
    jti: `${prefix}-${now}-${i}`,
  })
    .setProtectedHeader({ alg, kid, typ: 'at+jwt' })
    .setIssuer('https://tenant.logto.app/oidc')
    .setAudience('https://api.example.com/products')
    .setIssuedAt(now)
    .setExpirationTime(now + 30 * 86400)
    .sign(key));
}
process.stdout.write(lines.join('\n') + '\n');
