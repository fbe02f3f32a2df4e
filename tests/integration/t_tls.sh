#!/bin/sh
# tests/integration/t_tls.sh: the PRODUCTION nginx config (nginx/hjo.conf, ports and paths
# rewritten for a temp dir) in front of a real hjo-api, with a CA, a server certificate and a
# client certificate generated on the fly: HTTP redirects, TLS 1.2+ only, HSTS, certificate
# verification, the write rate limit (JSON 429), tokens and roles over HTTPS, mutual TLS as an
# ingest credential, and the API test suite over HTTPS with verification on.  Prints TAP.
: "${top_srcdir:?top_srcdir must be set (automake exports it)}"
# shellcheck source=tests/integration/lib.sh
. "$top_srcdir/tests/integration/lib.sh"
for t in openssl curl nginx; do
        command -v "$t" >/dev/null 2>&1 || itest_skip "$t not installed"
done
HJO_AUTH=required
HJO_TRUST_CLIENT_CERT=true
export HJO_AUTH HJO_TRUST_CLIENT_CERT
itest_setup


T=$HJO_TMP/tls
mkdir -p "$T/logs" "$T/temp"
chmod 755 "$T"
ossl() { openssl "$@" >>"$T/openssl.log" 2>&1 || itest_bail "openssl $1 failed (see $T/openssl.log)"; }
ossl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=hjo test CA" \
        -keyout "$T/ca.key" -out "$T/ca.pem"
ossl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout "$T/server.key" -out "$T/server.csr"
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$T/server.ext"
ossl x509 -req -in "$T/server.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial -days 2 \
        -extfile "$T/server.ext" -out "$T/server.pem"
ossl req -newkey rsa:2048 -nodes -subj "/CN=node01.cluster" -keyout "$T/client.key" -out "$T/client.csr"
printf 'extendedKeyUsage=clientAuth\n' >"$T/client.ext"
ossl x509 -req -in "$T/client.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial -days 2 \
        -extfile "$T/client.ext" -out "$T/client.pem"
# a client certificate from a CA nginx does not trust
ossl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=intruder" -keyout "$T/rogue.key" -out "$T/rogue.pem"

p80=$(hjo_free_port)
p443=$(hjo_free_port)
[ "$p80" != "$p443" ] || p443=$(hjo_free_port)

# site config: the production file with test ports, paths and mTLS switched on
site() { # site RATE
        sed -e "s|listen 80;|listen 127.0.0.1:$p80;|" \
            -e "s|listen 443 ssl http2;|listen 127.0.0.1:$p443 ssl http2;|" \
            -e '/listen \[::\]/d' \
            -e "s|/etc/letsencrypt/live/hjo.example.org/fullchain.pem|$T/server.pem|" \
            -e "s|/etc/letsencrypt/live/hjo.example.org/privkey.pem|$T/server.key|" \
            -e "s|#ssl_client_certificate /etc/hjo/clients-ca.pem;|ssl_client_certificate $T/ca.pem;|" \
            -e "s|#ssl_verify_client optional;|ssl_verify_client optional;|" \
            -e "s|#ssl_verify_depth 2;|ssl_verify_depth 2;|" \
            -e "s|/var/log/nginx/|$T/logs/|g" \
            -e "s|unix:/run/hjo/hjo-api.sock|unix:$HJO_TMP/run/hjo-api.sock|g" \
            -e "s|/etc/nginx/snippets/hjo-errors.conf|$top_srcdir/nginx/errors.conf|" \
            -e "s|rate=100r/s|rate=$1|" \
            "$top_srcdir/nginx/hjo.conf" >"$T/site.conf"
        cat >"$T/nginx.conf" <<CONF
worker_processes 1;
pid $T/nginx.pid;
error_log $T/logs/error.log notice;
events { worker_connections 1024; }
http {
        client_body_temp_path $T/temp/body;
        fastcgi_temp_path $T/temp/fastcgi;
        proxy_temp_path $T/temp/proxy;
        uwsgi_temp_path $T/temp/uwsgi;
        scgi_temp_path $T/temp/scgi;
        include $T/site.conf;
}
CONF
}
ngx_pid=
ngx_start() {
        nginx -p "$T/" -c "$T/nginx.conf" -g 'daemon off;' >>"$T/logs/stderr.log" 2>&1 &
        ngx_pid=$!
        i=0
        while [ $i -lt 100 ]; do
                curl -s -o /dev/null --cacert "$T/ca.pem" "https://localhost:$p443/v1/health" && return 0
                sleep 0.1
                i=$((i + 1))
        done
        itest_bail "production nginx config did not start (see $T/logs/error.log)"
}
ngx_stop() {
        [ -n "$ngx_pid" ] && kill "$ngx_pid" 2>/dev/null && wait "$ngx_pid" 2>/dev/null
        ngx_pid=
}
trap 'ngx_stop; itest_teardown' EXIT

site 100r/s
nginx -t -p "$T/" -c "$T/nginx.conf" >"$T/nginx-t.log" 2>&1
is "$?" 0 "nginx -t accepts the production config"
ngx_start
H=https://localhost:$p443

# ---- TLS -------------------------------------------------------------------------------------
is "$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' "http://127.0.0.1:$p80/v1/health")" \
        "308 https://127.0.0.1/v1/health" "plain HTTP is redirected to HTTPS (308 keeps POST a POST)"
is "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$T/ca.pem" "$H/v1/health")" 200 \
        "HTTPS with certificate verification: /v1/health 200"
curl -s -o /dev/null "$H/v1/health" 2>/dev/null
is "$?" 60 "without the CA the certificate does not verify (curl exit 60)"
curl -s -o /dev/null --cacert "$T/ca.pem" --tls-max 1.1 "$H/v1/health" 2>/dev/null
rc=$?
is "$([ $rc -ne 0 ] && echo refused)" refused "TLS 1.1 is refused (curl exit $rc)"
is "$(curl -s -o /dev/null -w '%{ssl_verify_result}' --cacert "$T/ca.pem" --tlsv1.2 --tls-max 1.2 "$H/v1/health")" \
        0 "TLS 1.2 works"
is "$(curl -s -D - -o /dev/null --cacert "$T/ca.pem" "$H/v1/health" | tr -d '\r' | grep -ci '^strict-transport-security: max-age=63072000')" \
        1 "HSTS header"
is "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$T/ca.pem" "$H/etc/passwd")" 404 \
        "only /v1/ and /metrics are routed"

# ---- tokens and roles ------------------------------------------------------------------------
admin=$top_builddir/admin/hjo-admin
mk() { "$admin" token create --name "$1" --role "$2" ${3:+--user "$3"} 2>>"$T/admin.log"; }
A=$(mk t-admin admin)
I=$(mk t-ingest ingest)
R=$(mk t-reader reader)
U=$(mk t-alice user alice)
is "$(printf '%s' "$A" | grep -cE '^hjo_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$')" 1 "hjo-admin token create prints a token"
is "$(psql -X -At -h "$HJO_PGHOST" -p "$HJO_PGPORT" -U postgres -d hjo -c \
        "SELECT count(*) FROM api_tokens WHERE position('$(printf '%s' "$A" | cut -c22-)' IN secret_sha256) > 0")" \
        0 "the secret itself is not stored"
c() { # c TOKEN METHOD PATH [BODY]: prints the status
        curl -s -o "$T/body" -w '%{http_code}' --cacert "$T/ca.pem" -X "$2" \
                ${1:+-H "Authorization: Bearer $1"} ${4:+-H 'Content-Type: application/json' -d "$4"} \
                "$H$3"
}
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
ev() { printf '{"job_id":"%s","user":"%s","node_list":["node01"],"timestamp":"%s"}' "$1" "$2" "$now"; }
is "$(c "" GET /v1/jobs)" 401 "no credentials: 401"
is "$(grep -c '"error":"unauthorized"' "$T/body")" 1 "... as JSON unauthorized"
is "$(c "hjo_0000000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" GET /v1/jobs)" 401 "unknown token: 401"
# the last character changed (to y where it is x: a random secret ends in x one time in 64)
wrong=$(printf '%s' "$A" | sed 's/x$/y/; t; s/.$/x/')
is "$(c "$wrong" GET /v1/jobs)" 401 "token with a wrong secret: 401"
is "$(c "" GET /v1/health)" 200 "/v1/health stays open"
is "$(c "$I" POST /v1/events/job-started "$(ev tls-1 alice)")" 200 "ingest token posts events"
is "$(c "$I" POST /v1/events/job-started "$(ev tls-2 bob)")" 200 "ingest token posts another"
is "$(c "$I" GET /v1/jobs)" 403 "ingest token may not read jobs"
is "$(c "$I" GET /metrics)" 403 "ingest token may not read /metrics"
is "$(c "$R" GET /v1/jobs/tls-2)" 200 "reader reads any job"
is "$(c "$R" GET /metrics)" 200 "reader scrapes /metrics"
is "$(c "$R" POST /v1/events/job-started "$(ev tls-3 alice)")" 403 "reader may not post events"
is "$(c "$R" DELETE /v1/jobs/tls-2)" 403 "reader may not delete"
is "$(c "$U" GET /v1/jobs/tls-1)" 200 "user token reads its own job"
is "$(c "$U" GET /v1/jobs/tls-2)" 404 "user token: another user's job is indistinguishable from a missing one"
is "$(c "$U" GET /v1/jobs/tls-2/metrics)" 404 "... also its metrics"
is "$(c "$U" GET '/v1/jobs?limit=1000')$(grep -o '"user" : "[a-z]*"' "$T/body" | sort -u | tr -d ' \n')" \
        '200"user":"alice"' "user token lists only its user's jobs"
is "$(c "$U" GET '/v1/jobs?user=bob')$(grep -o '"total" : [0-9]*' "$T/body" | tr -d ' ')" \
        '200"total":0' "... and asking for another user gives nothing"
is "$(c "$U" GET /metrics)" 403 "user token may not scrape all jobs' metrics"
is "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$T/ca.pem" -X DELETE -H "Authorization: Bearer $A" \
        -H 'X-Changed-By: ops-alice' -H 'X-Source: t_tls' "$H/v1/jobs/tls-2")" 204 "admin deletes"
is "$(psql -X -At -h "$HJO_PGHOST" -p "$HJO_PGPORT" -U postgres -d hjo -c \
        "SELECT principal || ' ' || changed_by FROM audit_log WHERE job_id = 'tls-2' AND action = 'delete'")" \
        "token:t-admin ops-alice" "the audit log records the authenticated principal (X-Changed-By kept as context)"
"$admin" token revoke t-reader 2>>"$T/admin.log"
sleep 11 # the per-worker token cache keeps an entry up to 10 s
is "$(c "$R" GET /v1/jobs/tls-1)" 401 "a revoked token is refused (within the 10 s cache time)"
"$admin" token create --name t-old --role reader --expires 2000-01-01T00:00:00Z >"$T/old.tok" 2>>"$T/admin.log"
is "$(c "$(cat "$T/old.tok")" GET /v1/jobs)" 401 "an expired token is refused"
is "$("$admin" token list 2>/dev/null | grep -c 'revoked')" 1 "token list shows the revocation"

# ---- mutual TLS ------------------------------------------------------------------------------
mt() { # mt CERT KEY METHOD PATH [BODY]
        curl -s -o "$T/body" -w '%{http_code}' --cacert "$T/ca.pem" --cert "$1" --key "$2" \
                -X "$3" ${5:+-H 'Content-Type: application/json' -d "$5"} "$H$4"
}
is "$(mt "$T/client.pem" "$T/client.key" POST /v1/events/job-started "$(ev tls-m1 carol)")" 200 \
        "a verified client certificate posts events (mutual TLS)"
is "$(psql -X -At -h "$HJO_PGHOST" -p "$HJO_PGPORT" -U postgres -d hjo -c \
        "SELECT principal FROM audit_log WHERE job_id = 'tls-m1'")" "mtls:CN=node01.cluster" \
        "... recorded as the certificate's subject"
is "$(mt "$T/client.pem" "$T/client.key" GET /v1/jobs)" 403 "a client certificate is only an ingest credential"
is "$(mt "$T/rogue.pem" "$T/rogue.key" POST /v1/events/job-started "$(ev tls-m2 carol)")" 400 \
        "a certificate from another CA is refused by nginx (400)"
is "$(c "$A" GET /v1/jobs/tls-m2)" 404 "... and nothing was written"

# ---- rate limit ------------------------------------------------------------------------------
: >"$T/urls"
mkdir -p "$T/rl"
i=0
while [ $i -lt 400 ]; do
        printf 'url = "%s/v1/events/job-started"\noutput = "%s/rl/%d"\n' "$H" "$T" "$i" >>"$T/urls"
        i=$((i + 1))
done
curl -s -Z --parallel-max 64 --cacert "$T/ca.pem" -X POST -H "Authorization: Bearer $I" \
        -w '%{http_code}\n' -K "$T/urls" >"$T/codes" 2>/dev/null
n429=$(grep -c '^429$' "$T/codes")
is "$([ "$n429" -gt 0 ] && echo limited)" limited "400 concurrent writes trip the per-client limit ($n429 x 429)"
is "$(grep -l '"error":"rate_limited"' "$T"/rl/* 2>/dev/null | wc -l)" "$n429" \
        "every 429 is JSON rate_limited"
sleep 3

# ---- the API test suite over HTTPS, verification on (rate limit raised for the run) -----------
ngx_stop
site 100000r/s
ngx_start
B=$(mk t-suite admin)
HJO_URL=$H HJO_CAFILE=$T/ca.pem HJO_TOKEN=$B /usr/bin/python3 "$top_srcdir/tests/integration/api_test.py" \
        basics job-started validation job-finished crud samples >"$T/suite.tap" 2>&1
rc=$?
total=$(grep -cE '^(not )?ok ' "$T/suite.tap")
bad=$(grep -cE '^not ok ' "$T/suite.tap")
is "$rc:$bad" "0:0" "API suite over HTTPS with certificate verification ($total assertions, $bad failed)"
[ "$bad" -eq 0 ] || grep -A6 '^not ok' "$T/suite.tap" | head -n 60 | sed 's/^/# /'

echo "1..$n"
[ "$nfail" -eq 0 ]
