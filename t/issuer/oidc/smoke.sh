#!/bin/sh
# smoke.sh - start the local issuer, fetch tokens for both demo clients,
# check their header and claims, verify them with an independent library
# (Perl Crypt::JWT) against the published JWKS, then rotate the key and
# drop the old one. Prints TAP. Runs once per algorithm (ES384, RS256),
# or for the algorithms given as arguments.
#
#   t/issuer/oidc/smoke.sh [ES384] [RS256]
set -u

here=$(cd "$(dirname "$0")" && pwd)
get_token="$here/../get-token"
resource="https://api.example.com/products"
work=$(mktemp -d "${TMPDIR:-/tmp}/issuer-smoke.XXXXXX")
issuer_pid=""
n=0
failed=0

algs="$*"
[ -n "$algs" ] || algs="ES384 RS256"

stop_issuer()
{
    if [ -n "$issuer_pid" ]; then
        kill "$issuer_pid" 2>/dev/null
        # Bounded wait for it to go: 5 s, then force.
        i=0
        while kill -0 "$issuer_pid" 2>/dev/null && [ $i -lt 50 ]; do
            sleep 0.1
            i=$((i + 1))
        done
        kill -9 "$issuer_pid" 2>/dev/null
        wait "$issuer_pid" 2>/dev/null
        issuer_pid=""
    fi
}

cleanup()
{
    stop_issuer
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

ok()
{
    n=$((n + 1))
    echo "ok $n - $1"
}

not_ok()
{
    n=$((n + 1))
    failed=$((failed + 1))
    echo "not ok $n - $1"
    if [ -n "${2:-}" ]; then
        echo "$2" | sed 's/^/# /'
    fi
}

# check NAME GOT WANT
check()
{
    if [ "$2" = "$3" ]; then
        ok "$1"
    else
        not_ok "$1" "got:  '$2'
want: '$3'"
    fi
}

# json FILE-OR-DASH EXPR: print a field of a JSON document (via node).
json()
{
    node -e '
        const fs = require("fs");
        const o = JSON.parse(fs.readFileSync(process.argv[1] === "-"
            ? 0 : process.argv[1], "utf8"));
        const v = new Function("o", "return o." + process.argv[2])(o);
        process.stdout.write(v === undefined ? "" : typeof v === "object"
            ? JSON.stringify(v) : String(v));
    ' "$1" "$2"
}

# jwt_part TOKEN INDEX: the decoded JSON of a JWT's header (0) or payload.
jwt_part()
{
    node -e '
        const p = process.argv[1].split(".")[process.argv[2]];
        process.stdout.write(Buffer.from(p, "base64url").toString());
    ' "$1" "$2"
}

fetch_jwks()
{
    curl -sf --max-time 5 "$issuer/jwks" >"$work/jwks.json"
    jwks_fetched=$((jwks_fetched + 1))
}

# perl_verify TOKEN: verify signature, alg, iss, aud, exp with Crypt::JWT
# against $work/jwks.json.
perl_verify()
{
    perl -MCrypt::JWT=decode_jwt -e '
        my ($token, $file, $alg, $iss, $aud) = @ARGV;
        open(my $fh, "<", $file) or die "$file: $!";
        my $jwks = do { local $/; <$fh> };
        my ($h, $p) = decode_jwt(token => $token, kid_keys => $jwks,
            decode_header => 1, accepted_alg => $alg, verify_iss => $iss,
            verify_aud => $aud, verify_exp => 1, verify_iat => 1);
        die "typ $h->{typ}\n" unless $h->{typ} eq "at+jwt";
    ' "$1" "$work/jwks.json" "$alg" "$issuer" "$resource" 2>&1
}

have_perl_jwt=no
if perl -MCrypt::JWT -e 1 2>/dev/null; then
    have_perl_jwt=yes
fi

# perl_check NAME TOKEN expect(pass|fail)
perl_check()
{
    if [ $have_perl_jwt = no ]; then
        n=$((n + 1))
        echo "ok $n # skip $1 (no Crypt::JWT)"
        return
    fi
    out=$(perl_verify "$2")
    rc=$?
    if { [ "$3" = pass ] && [ $rc -eq 0 ]; } ||
            { [ "$3" = fail ] && [ $rc -ne 0 ]; }; then
        ok "$1"
    else
        not_ok "$1" "$out"
    fi
}

# start_issuer ALG TTL: start in the background on a free port, then wait
# (at most 10 s) for its ready line and for discovery to answer.
start_issuer()
{
    : >"$work/out"
    node "$here/issuer.js" --port 0 --alg "$1" --ttl "$2" \
        --keys-file "$work/keys.json" --pid-file "$work/pid" \
        >"$work/out" 2>"$work/err" &
    issuer_pid=$!
    issuer=""
    i=0
    while [ $i -lt 100 ]; do
        if [ -z "$issuer" ]; then
            issuer=$(sed -n 's/^ready \([^ ]*\) .*/\1/p' "$work/out")
        fi
        if [ -n "$issuer" ] && curl -sf --max-time 2 -o "$work/disco.json" \
                "$issuer/.well-known/openid-configuration"; then
            return 0
        fi
        kill -0 "$issuer_pid" 2>/dev/null || break
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}

token()
{
    "$get_token" --issuer "$issuer" --client "$1" --secret "$2" \
        --resource "$3" --scope "$4" 2>"$work/gt.err"
}

# 29 tests per algorithm.
suite()
{
    alg=$1
    ttl=$2
    jwks_fetched=0
    rm -f "$work/keys.json"

    if start_issuer "$alg" "$ttl"; then
        ok "$alg: issuer up, discovery answers"
    else
        not_ok "$alg: issuer up, discovery answers" "$(cat "$work/err")"
        return 1
    fi
    port=${issuer#http://127.0.0.1:}
    port=${port%/oidc}
    check "$alg: issuer is http://127.0.0.1:PORT/oidc" \
        "$(json "$work/disco.json" issuer)" "http://127.0.0.1:$port/oidc"
    check "$alg: jwks_uri is the issuer's /jwks" \
        "$(json "$work/disco.json" jwks_uri)" "$issuer/jwks"
    check "$alg: pid file holds the issuer pid" \
        "$(cat "$work/pid" 2>/dev/null)" "$issuer_pid"

    admin=$(token demo-admin demo-admin-secret "$resource" \
        "read:products write:products")
    check "$alg: demo-admin gets a token" "$? $(cat "$work/gt.err")" "0 "
    h=$(jwt_part "$admin" 0)
    p=$(jwt_part "$admin" 1)
    check "$alg: header alg" "$(echo "$h" | json - alg)" "$alg"
    check "$alg: header typ" "$(echo "$h" | json - typ)" "at+jwt"
    kid1=$(echo "$h" | json - kid)
    fetch_jwks
    check "$alg: header kid is in /oidc/jwks" \
        "$(json "$work/jwks.json" 'keys.map(k => k.kid).join(" ")')" \
        "$kid1"
    check "$alg: iss" "$(echo "$p" | json - iss)" "$issuer"
    check "$alg: aud" "$(echo "$p" | json - aud)" "$resource"
    check "$alg: admin scope" "$(echo "$p" | json - scope)" \
        "read:products write:products"
    check "$alg: client_id and sub" \
        "$(echo "$p" | json - 'client_id + " " + o.sub')" \
        "demo-admin demo-admin"
    check "$alg: exp - iat = ttl" "$(echo "$p" | json - 'exp - o.iat')" \
        "$ttl"

    reader=$(token demo-reader demo-reader-secret "$resource" \
        "read:products write:products")
    check "$alg: demo-reader gets a token" "$? $(cat "$work/gt.err")" "0 "
    check "$alg: reader scope trimmed to read:products" \
        "$(jwt_part "$reader" 1 | json - scope)" "read:products"

    out=$(token demo-reader demo-reader-secret "$resource" write:products)
    check "$alg: reader asking write:products alone is refused" \
        "$? $out $(grep -o invalid_scope "$work/gt.err")" "1  invalid_scope"
    out=$(token demo-reader wrong-secret "$resource" read:products)
    check "$alg: wrong secret is refused" \
        "$? $out $(grep -o invalid_client "$work/gt.err")" \
        "1  invalid_client"
    out=$(token demo-admin demo-admin-secret https://api.example.com/other \
        read:products)
    check "$alg: unknown resource is refused" \
        "$? $out $(grep -o invalid_target "$work/gt.err")" \
        "1  invalid_target"

    perl_check "$alg: Crypt::JWT verifies the admin token" "$admin" pass
    perl_check "$alg: Crypt::JWT rejects a tampered token" \
        "${admin%.*}.${reader##*.}" fail

    # Rotation: the new key is published first and signs new tokens.
    kid2=$(curl -sf --max-time 5 -X POST \
        "http://127.0.0.1:$port/control/rotate" | json - kid)
    fetch_jwks
    check "$alg: after rotate the JWKS has new and old kids" \
        "$(json "$work/jwks.json" 'keys.map(k => k.kid).join(" ")')" \
        "$kid2 $kid1"
    admin2=$(token demo-admin demo-admin-secret "$resource" read:products)
    check "$alg: a token after rotate carries the new kid" \
        "$(jwt_part "$admin2" 0 | json - kid)" "$kid2"
    perl_check "$alg: Crypt::JWT verifies old and new tokens" \
        "$admin2" pass
    perl_check "$alg: ... the old one too" "$admin" pass

    curl -sf --max-time 5 -X POST -o /dev/null \
        "http://127.0.0.1:$port/control/drop-old"
    fetch_jwks
    check "$alg: after drop-old the JWKS has the new kid only" \
        "$(json "$work/jwks.json" 'keys.map(k => k.kid).join(" ")')" \
        "$kid2"
    perl_check "$alg: a token of the dropped key no longer verifies" \
        "$admin" fail
    check "$alg: /control/jwks-fetches counts JWKS serves" \
        "$(curl -sf --max-time 5 "http://127.0.0.1:$port/control/jwks-fetches" |
            json - fetches)" "$jwks_fetched"

    # The key survives a restart through --keys-file, kid unchanged.
    stop_issuer
    check "$alg: pid file removed on stop" \
        "$(test -e "$work/pid" && echo present)" ""
    if start_issuer "$alg" "$ttl"; then
        t=$(token demo-admin demo-admin-secret "$resource" read:products)
        check "$alg: restart with --keys-file keeps the kid" \
            "$(jwt_part "$t" 0 | json - kid)" "$kid2"
    else
        not_ok "$alg: restart with --keys-file keeps the kid" \
            "$(cat "$work/err")"
    fi
    stop_issuer
}

count=0
for a in $algs; do
    count=$((count + 29))
done
echo "1..$count"
ttl=3600
for a in $algs; do
    suite "$a" "$ttl"
    ttl=600
done
if [ $n -ne "$count" ]; then
    echo "# ran $n of $count tests"
    exit 1
fi
[ $failed -eq 0 ]
