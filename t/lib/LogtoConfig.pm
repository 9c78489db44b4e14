package LogtoConfig;
# LogtoConfig - `httpd -t` on small configurations of a test's own, for
# the checks httpd makes at startup: each configuration loads what a Logto
# location needs (prefork, authn/authz core, shmcb, the module just built)
# and then the test's lines.
#
#   use LogtoConfig;
#   my $dir = conf_dir();
#   my @head = conf_head($dir);   # the lines every configuration starts with
#   my ($rc, $out, $file) = conf_test($dir, @head, @lines);
use strict;
use warnings;

use File::Basename qw(dirname);
use File::Spec::Functions qw(catfile rel2abs);
use File::Temp qw(tempdir);

use Exporter qw(import);
our @EXPORT = qw(conf_dir conf_head conf_test);

my $TOP = rel2abs(catfile(dirname(__FILE__), '..', '..'));
my $MODULE = catfile($TOP, '.libs', 'mod_auth_logto.so');
my $HTTPD = $ENV{HTTPD_BIN} || '/usr/sbin/apache2';
my $APXS = $ENV{APXS} || '/usr/bin/apxs';
chomp(my $LIBEXEC = `$APXS -q LIBEXECDIR 2>/dev/null` || '');
$LIBEXEC ||= '/usr/lib/apache2/modules';

my $n = 0;

# A directory for the configurations, removed at exit.
sub conf_dir
{
    return tempdir('logto-conf-XXXXXX', TMPDIR => 1, CLEANUP => 1);
}

# The lines every configuration in $dir starts with.
sub conf_head
{
    my ($dir) = @_;
    my @core = map {
        ("<IfModule !mod_${_}.c>",
         "LoadModule ${_}_module $LIBEXEC/mod_${_}.so", '</IfModule>')
    } qw(authn_core authz_core authz_user);
    return (
        "ServerRoot $dir",
        'ServerName 127.0.0.1',
        'Listen 127.0.0.1:1',
        "PidFile $dir/httpd.pid",
        "ErrorLog $dir/error_log",
        "DefaultRuntimeDir $dir",
        "LoadModule mpm_prefork_module $LIBEXEC/mod_mpm_prefork.so",
        @core,
        "LoadModule socache_shmcb_module $LIBEXEC/mod_socache_shmcb.so",
        "LoadModule auth_logto_module $MODULE",
    );
}

# httpd -t on LINES written to a new file in $dir: (exit code, output,
# the file).
sub conf_test
{
    my ($dir, @lines) = @_;
    my $file = catfile($dir, sprintf('t%02d.conf', ++$n));
    open my $fh, '>', $file or die "$file: $!\n";
    print {$fh} map { "$_\n" } @lines;
    close $fh;
    my $out = `'$HTTPD' -t -f '$file' 2>&1`;
    return ($? >> 8, $out, $file);
}

1;
