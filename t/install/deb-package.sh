#!/bin/bash
# deb-package.sh - the Debian package that `make deb` built: its name, its files,
# lintian without errors, and, unpacked with dpkg -x into a throw-away
# root, `a2enmod auth_logto && apache2ctl configtest` against a copy of
# /etc/apache2 whose auth_logto.load points into that root (the module
# loads). Installing enables nothing: no maintainer script enables it.
# The system's configuration is never touched. TAP on stdout.
#
#   LOGTO_DEB  the package (default: the one `make deb` left in the
#              build tree for this version and architecture)
set -u
top=$(cd "${top_builddir:-.}" && pwd)
src=$(cd "${top_srcdir:-.}" && pwd)
pkg=libapache2-mod-auth-logto
version=$(sed -n 's/^AC_INIT(\[[^]]*\], *\[\([^]]*\)\].*/\1/p' \
    "$src/configure.ac")
arch=$(dpkg --print-architecture 2>/dev/null)
deb=${LOGTO_DEB:-$top/${pkg}_${version}_${arch}.deb}

if [ ! -d /etc/apache2/mods-available ] || ! command -v a2enmod >/dev/null ||
        ! command -v dpkg-deb >/dev/null; then
    echo "1..0 # SKIP no Debian apache2 layout"
    exit 0
fi
echo "1..14"
n=0
ok() {
    n=$((n + 1))
    if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi
}
if [ ! -f "$deb" ]; then
    echo "Bail out! no package $deb (make deb)"
    exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"

# 1-2. name and control fields
test "$(dpkg-deb -f "$deb" Package Version Architecture | tr '\n' ' ')" = \
    "Package: $pkg Version: $version Architecture: $arch "
ok $? "$(basename "$deb"): package, version and architecture"
dpkg-deb -f "$deb" Depends | grep -q 'apache2-api-'
ok $? "it depends on the httpd module API it was built for"

# 3-5. the files
dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|' > "$tmp/files"
want="/usr/lib/apache2/modules/mod_auth_logto.so /usr/bin/logto-token-check
/etc/apache2/mods-available/auth_logto.load
/etc/apache2/mods-available/auth_logto.conf"
missing=$(for f in $want; do grep -qx "$f" "$tmp/files" || echo "$f"; done)
test -z "$missing"
ok $? "the module, logto-token-check, auth_logto.load and .conf${missing:+ (missing: $missing)}"
doc=/usr/share/doc/$pkg
missing=$(for f in README.md.gz directives.md.gz copyright \
        examples/example-vhost.conf; do
    grep -qx "$doc/$f" "$tmp/files" || echo "$f"; done)
test -z "$missing"
ok $? "README, the directive reference, the example vhost under $doc${missing:+ (missing: $missing)}"
grep -qx /usr/share/man/man1/logto-token-check.1.gz "$tmp/files"
ok $? "a manual page for logto-token-check"

# 6. nothing enabled by installing
dpkg-deb -e "$deb" "$tmp/control"
! grep -qs 'enmod\|a2enmod' "$tmp/control/postinst" "$tmp/control/preinst"
ok $? "no maintainer script enables the module"

# 7. lintian: no errors; warnings listed
if command -v lintian >/dev/null; then
    lintian --allow-root --pedantic -I "$deb" > "$tmp/lintian" 2>&1
    sed 's/^/# lintian: /' "$tmp/lintian"
    ! grep -q '^E:' "$tmp/lintian"
    ok $? "lintian: no errors ($(grep -c '^W:' "$tmp/lintian") warnings)"
else
    ok 1 "lintian is not installed (scripts/bootstrap)"
fi

# 8-9. unpacked into a throw-away root
root="$tmp/root"
dpkg -x "$deb" "$root"
ok $? "dpkg -x into a throw-away root"
"$root/usr/bin/logto-token-check" --help > "$tmp/help" 2>&1 &&
    grep -q 'usage: logto-token-check' "$tmp/help"
ok $? "the unpacked logto-token-check runs"

# 10-14. a2enmod and configtest on a copy of /etc/apache2, the .load
# pointed at the unpacked module
cp -a /etc/apache2 "$tmp/etc"
so="$root/usr/lib/apache2/modules/mod_auth_logto.so"
load="$root/etc/apache2/mods-available/auth_logto.load"
grep -q '^# Depends: .*socache_shmcb' "$load"
ok $? "auth_logto.load declares the socache_shmcb dependency"
grep -qx 'LoadModule auth_logto_module /usr/lib/apache2/modules/mod_auth_logto.so' \
    "$load"
ok $? "auth_logto.load loads the module from the package's path"
sed "s|^LoadModule auth_logto_module .*|LoadModule auth_logto_module $so|" \
    "$load" > "$tmp/etc/mods-available/auth_logto.load"
cp "$root/etc/apache2/mods-available/auth_logto.conf" "$tmp/etc/mods-available/"
rm -f "$tmp/etc/mods-enabled/auth_logto."* \
    "$tmp/etc/mods-enabled/socache_shmcb.load"
export APACHE_CONFDIR="$tmp/etc"
a2enmod auth_logto > "$tmp/a2enmod.log" 2>&1 &&
    test -L "$tmp/etc/mods-enabled/auth_logto.load" &&
    test -L "$tmp/etc/mods-enabled/socache_shmcb.load"
ok $? "a2enmod auth_logto (and socache_shmcb, which it depends on)"
out=$(apache2ctl configtest 2>&1)
echo "$out" | grep -q "Syntax OK"
ok $? "apache2ctl configtest: Syntax OK"
echo "$out" | sed 's/^/# /'
apache2ctl -M 2>/dev/null | grep -q 'auth_logto_module'
ok $? "the unpacked module is loaded (apache2ctl -M)"
