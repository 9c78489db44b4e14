# scripts/lib/httpd.sh - private httpd instances on 127.0.0.1 for the demo
# and the benchmarks: own ServerRoot, config, pid file and logs; never the
# system service. Source it, then:
#   httpd_write_conf DIR PORT MPM EXTRA-CONF-FILE   write DIR/httpd.conf
#   httpd_start DIR                                 start, wait until up
#   httpd_stop DIR                                  stop, wait until gone

HTTPD_BIN=${HTTPD_BIN:-/usr/sbin/apache2}
HTTPD_MODDIR=${HTTPD_MODDIR:-/usr/lib/apache2/modules}

httpd_write_conf() {
    local dir=$1 port=$2 mpm=$3 extra=$4 user=""
    mkdir -p "$dir/logs" "$dir/htdocs"
    if [ "$(id -u)" = 0 ]; then
        user="User nobody
Group nogroup"
        chmod 755 "$dir" "$dir/htdocs"
        chown nobody "$dir/logs" 2>/dev/null || true
    fi
    cat > "$dir/httpd.conf" <<CONF
ServerRoot "$dir"
ServerName 127.0.0.1
Listen 127.0.0.1:$port
PidFile "$dir/logs/httpd.pid"
DefaultRuntimeDir "$dir/logs"
ErrorLog "$dir/logs/error_log"
LogLevel warn auth_logto:info
$user
LoadModule mpm_${mpm}_module $HTTPD_MODDIR/mod_mpm_${mpm}.so
LoadModule authn_core_module $HTTPD_MODDIR/mod_authn_core.so
LoadModule authz_core_module $HTTPD_MODDIR/mod_authz_core.so
LoadModule authz_host_module $HTTPD_MODDIR/mod_authz_host.so
LoadModule mime_module $HTTPD_MODDIR/mod_mime.so
LoadModule dir_module $HTTPD_MODDIR/mod_dir.so
LoadModule alias_module $HTTPD_MODDIR/mod_alias.so
LoadModule headers_module $HTTPD_MODDIR/mod_headers.so
LoadModule env_module $HTTPD_MODDIR/mod_env.so
LoadModule proxy_module $HTTPD_MODDIR/mod_proxy.so
LoadModule proxy_http_module $HTTPD_MODDIR/mod_proxy_http.so
LoadModule socache_shmcb_module $HTTPD_MODDIR/mod_socache_shmcb.so
TypesConfig /etc/mime.types
DocumentRoot "$dir/htdocs"
LogFormat "%h \"%r\" %>s user=%u" short
CustomLog "$dir/logs/access_log" short
Include "$extra"
CONF
}

httpd_start() {
    local dir=$1 i
    "$HTTPD_BIN" -d "$dir" -f "$dir/httpd.conf" -k start || return 1
    for i in $(seq 1 100); do
        [ -s "$dir/logs/httpd.pid" ] && return 0
        sleep 0.1
    done
    echo "httpd in $dir did not start; its error log:" >&2
    tail -20 "$dir/logs/error_log" >&2
    return 1
}

httpd_stop() {
    local dir=$1 pid i
    [ -s "$dir/logs/httpd.pid" ] || return 0
    pid=$(cat "$dir/logs/httpd.pid")
    "$HTTPD_BIN" -d "$dir" -f "$dir/httpd.conf" -k stop 2>/dev/null ||
        kill "$pid" 2>/dev/null
    for i in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null
    return 0
}
