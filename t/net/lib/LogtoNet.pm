package LogtoNet;
# LogtoNet - helpers for the key-fetching tests in t/net/: a fake issuer
# (t/issuer/fake-issuer.pl) and private httpd instances (scripts/lib/
# httpd.sh) on 127.0.0.1, requests from several forked clients, JWK sets
# written from the test keys. Every server started here is stopped at exit,
# on SIGINT/SIGTERM too; every wait is bounded.
#
#   use LogtoNet;
#   my $iss = start_issuer(jwks => jwks_file($dir, 'es384-1'));
#   my $h = start_httpd(mpm => 'prefork', conf => $locations);
#   my @res = run_requests(requests => [[$url, $jwt], ...], workers => 8);
use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Path qw(remove_tree);
use File::Temp qw(tempdir);
use IO::Select;
use IO::Socket::INET;
use JSON::PP ();
use LWP::UserAgent;
use POSIX qw(:sys_wait_h);
use Time::HiRes qw(time sleep);

use Exporter qw(import);
our @EXPORT = qw(
    SRCDIR MODULE free_port scratch_dir start_issuer issuer_ctl
    issuer_count start_httpd stop_httpd graceful_httpd mpm_conf
    run_requests jwks_file served_by_pids wait_until
);

my $SRC = $ENV{top_srcdir} ? abs_path($ENV{top_srcdir})
    : abs_path(dirname(__FILE__) . '/../../..');
my $BUILD = $ENV{top_builddir} ? abs_path($ENV{top_builddir}) : $SRC;
my $HTTPD_SH = "$SRC/scripts/lib/httpd.sh";
my $MODDIR = $ENV{HTTPD_MODDIR} || '/usr/lib/apache2/modules';
my $OWNER = $$;
my (@issuers, @httpds, @scratch);

sub SRCDIR { $SRC }

# The module under test, as libtool left it.
sub MODULE { "$BUILD/.libs/mod_auth_logto.so" }

# A port nothing listens on right now (bound to 0, then let go).
sub free_port
{
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Proto => 'tcp', Listen => 1)
        or die "no free port: $!\n";
    my $port = $s->sockport;
    close $s;
    return $port;
}

# A directory httpd's unprivileged user may read, removed at exit.
sub scratch_dir
{
    my $dir = tempdir('logto-net-XXXXXX', TMPDIR => 1);
    chmod 0755, $dir;
    push @scratch, $dir;
    return $dir;
}

# Call $cond every 0.05 s until it is true or $secs passed; its last value.
sub wait_until
{
    my ($secs, $cond) = @_;
    my $end = time + $secs;
    my $v;
    until (($v = $cond->()) || time > $end) {
        sleep 0.05;
    }
    return $v;
}

# ------------------------------------------------------------------ JWKS

my %KEY_CLASS = (
    'es384-1' => ['Crypt::PK::ECC', 'ES384'],
    'es384-2' => ['Crypt::PK::ECC', 'ES384'],
    'es256-1' => ['Crypt::PK::ECC', 'ES256'],
    'rs256-1' => ['Crypt::PK::RSA', undef],
);

# Write a JWK set holding the public halves of the named test keys to a
# file in $dir; its path.
sub jwks_file
{
    my ($dir, @kids) = @_;
    require Crypt::PK::ECC;
    require Crypt::PK::RSA;
    my @keys;
    for my $kid (@kids) {
        my ($class, $alg) = @{ $KEY_CLASS{$kid} or die "no key $kid\n" };
        my $jwk = $class->new("$SRC/t/keys/$kid.pem")
            ->export_key_jwk('public', 1);
        $jwk->{kid} = $kid;
        $jwk->{use} = 'sig';
        $jwk->{alg} = $alg if defined $alg;
        push @keys, $jwk;
    }
    my $path = "$dir/jwks-" . join('_', @kids) . '.json';
    open(my $fh, '>', $path) or die "$path: $!\n";
    print $fh JSON::PP->new->canonical->encode({ keys => \@keys });
    close $fh or die "$path: $!\n";
    chmod 0644, $path;
    return $path;
}

# ---------------------------------------------------------------- issuer

# Start fake-issuer.pl on a free port; a hash with pid, port, base (the
# control URL prefix) and issuer (its issuer URL).
sub start_issuer
{
    my (%o) = @_;
    my $dir = scratch_dir();
    my $portfile = "$dir/port";
    my @args = ('--portfile', $portfile, '--pidfile', "$dir/pid");
    push @args, '--jwks', $o{jwks} if $o{jwks};
    my $pid = fork // die "fork: $!\n";
    if ($pid == 0) {
        open(STDOUT, '>', "$dir/out");
        open(STDERR, '>&', \*STDOUT);
        { exec($^X, "$SRC/t/issuer/fake-issuer.pl", @args, 0) }
        POSIX::_exit(127);
    }
    my $iss = { pid => $pid, dir => $dir };
    push @issuers, $iss;
    wait_until(10, sub { -s $portfile })
        or die "fake issuer did not start\n";
    open(my $fh, '<', $portfile) or die "$portfile: $!\n";
    chomp(my $port = <$fh>);
    close $fh;
    $iss->{port} = $port;
    $iss->{base} = "http://127.0.0.1:$port";
    $iss->{issuer} = "http://127.0.0.1:$port/oidc";
    $iss->{jwks_uri} = "http://127.0.0.1:$port/oidc/jwks";
    return $iss;
}

my $ctl_ua = LWP::UserAgent->new(timeout => 5, keep_alive => 0);

# GET /control/WHAT of an issuer; the body, or die.
sub issuer_ctl
{
    my ($iss, $what) = @_;
    my $res = $ctl_ua->get("$iss->{base}/control/$what");
    die "issuer control $what: " . $res->status_line . "\n"
        unless $res->is_success;
    my $body = $res->decoded_content;
    chomp $body;
    return $body;
}

# JWKS requests (or discovery requests: $what 'discovery') so far.
sub issuer_count
{
    my ($iss, $what) = @_;
    return 0 + issuer_ctl($iss, 'count' . ($what ? "?k=$what" : ''));
}

sub stop_issuer
{
    my ($iss) = @_;
    return unless $iss->{pid};
    kill 'TERM', $iss->{pid};
    my $end = time + 5;
    while (time < $end && waitpid($iss->{pid}, WNOHANG) == 0) {
        sleep 0.05;
    }
    if (waitpid($iss->{pid}, WNOHANG) == 0) {
        kill 'KILL', $iss->{pid};
        waitpid($iss->{pid}, 0);
    }
    delete $iss->{pid};
}

# ----------------------------------------------------------------- httpd

# MPM settings: prefork with 4 children kept ready, event with exactly 2
# processes.
sub mpm_conf
{
    return <<'CONF';
<IfModule mpm_prefork_module>
    StartServers 4
    MinSpareServers 4
    MaxSpareServers 8
    ServerLimit 12
    MaxRequestWorkers 12
    MaxConnectionsPerChild 0
</IfModule>
<IfModule mpm_event_module>
    StartServers 2
    ServerLimit 2
    ThreadsPerChild 16
    MaxRequestWorkers 32
    MinSpareThreads 1
    MaxSpareThreads 32
    MaxConnectionsPerChild 0
</IfModule>
CONF
}

# system() without its blindness to SIGINT, so that an interrupted test
# still cleans up; the exit status.
# $track->{runner} names the command while it runs.
sub run
{
    my ($track, @cmd) = @_;
    my $pid = fork // die "fork: $!\n";
    if ($pid == 0) {
        { exec(@cmd) }
        POSIX::_exit(127);
    }
    $track->{runner} = $pid;
    waitpid($pid, 0);
    delete $track->{runner};
    return $?;
}

sub httpd_sh
{
    my ($h, $script, @args) = @_;
    return run($h, 'bash', '-c', ". \"\$0\"; $script", $HTTPD_SH, @args);
}

# Start httpd with the given MPM and extra configuration (after the
# module's LoadModule and the MPM settings; PORT in it becomes the port,
# DIR its ServerRoot). A hash with dir, port, url.
sub start_httpd
{
    my (%o) = @_;
    my $dir = $o{dir} // scratch_dir();
    my $port = free_port();
    my $extra = "$dir/extra.conf";
    (my $conf = $o{conf} // '') =~ s/\bPORT\b/$port/g;
    $conf =~ s/\bDIR\b/$dir/g;
    open(my $fh, '>', $extra) or die "$extra: $!\n";
    print $fh ($o{preload} // ''),
        "LoadModule authz_user_module $MODDIR/mod_authz_user.so\n",
        'LoadModule auth_logto_module ', MODULE, "\n",
        mpm_conf(),
        "LogFormat \"%P %>s %D %U\" netpid\n",
        "CustomLog \"$dir/logs/pid_log\" netpid\n",
        "KeepAlive Off\n",
        $conf;
    close $fh or die "$extra: $!\n";
    my $h = { dir => $dir, port => $port, url => "http://127.0.0.1:$port",
              mpm => $o{mpm} };
    push @httpds, $h;
    httpd_sh($h, 'httpd_write_conf "$1" "$2" "$3" "$4" && httpd_start "$1"',
             $dir, $port, $o{mpm}, $extra) == 0
        or die "httpd ($o{mpm}) did not start\n" . error_log($h);
    # Up: the parent answers once its children are there.
    wait_until(10, sub {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $port, Timeout => 1);
        return $s ? 1 : 0;
    }) or die "httpd ($o{mpm}) does not answer\n";
    $h->{pid} = read_pid($h);
    return $h;
}

sub read_pid
{
    my ($h) = @_;
    open(my $fh, '<', "$h->{dir}/logs/httpd.pid") or return undef;
    chomp(my $pid = <$fh> // '');
    close $fh;
    return $pid =~ /^\d+$/ ? $pid : undef;
}

# The tail of an instance's error log, for diagnostics.
sub error_log
{
    my ($h, $lines) = @_;
    open(my $fh, '<', "$h->{dir}/logs/error_log") or return '';
    my @l = <$fh>;
    close $fh;
    $lines //= 30;
    splice(@l, 0, @l - $lines) if @l > $lines;
    return join '', @l;
}

sub stop_httpd
{
    my ($h) = @_;
    return if $h->{stopped};
    # Interrupted while it starts: it has no pid file yet, so let the
    # start finish first.
    if (my $pid = $h->{runner}) {
        my $end = time + 20;
        sleep 0.05 while time < $end && waitpid($pid, WNOHANG) == 0;
        delete $h->{runner};
    }
    httpd_sh({}, 'httpd_stop "$1"', $h->{dir});
    $h->{stopped} = 1;
}

# apache2 -k graceful on an instance.
sub graceful_httpd
{
    my ($h) = @_;
    my $bin = $ENV{HTTPD_BIN} || '/usr/sbin/apache2';
    return run({}, $bin, '-d', $h->{dir}, '-f', "$h->{dir}/httpd.conf",
               '-k', 'graceful') == 0;
}

# The child pids that answered requests, from the pid_log: pid => count.
sub served_by_pids
{
    my ($h) = @_;
    my %by;
    open(my $fh, '<', "$h->{dir}/logs/pid_log") or return {};
    while (<$fh>) {
        $by{$1}++ if /^(\d+) /;
    }
    close $fh;
    return \%by;
}

# -------------------------------------------------------------- clients

# run_requests(requests => [[URL, TOKEN-or-undef], ...], workers => N,
#              duration => SECS, timeout => SECS)
# Sends every request (no keep-alive) from N forked clients, spread evenly
# over duration seconds when given. A list of hashes in request order:
# status, secs (latency), error (the challenge's error attribute), start.
sub run_requests
{
    my (%o) = @_;
    my @req = @{ $o{requests} };
    my $workers = $o{workers} // 8;
    my $duration = $o{duration} // 0;
    my $timeout = $o{timeout} // 15;
    my $dir = scratch_dir();
    my $t0 = time + 0.1;
    my @pids;
    for my $w (0 .. $workers - 1) {
        my $pid = fork // die "fork: $!\n";
        if ($pid == 0) {
            client($w, $workers, \@req, $t0, $duration, $timeout,
                   "$dir/w$w");
            POSIX::_exit(0);
        }
        push @pids, $pid;
    }
    # Bounded: every request has its timeout, the whole run a deadline.
    my $deadline = time + $duration + $timeout * (1 + @req / $workers) + 10;
    my %left = map { $_ => 1 } @pids;
    while (%left && time < $deadline) {
        for my $pid (keys %left) {
            delete $left{$pid} if waitpid($pid, WNOHANG) != 0;
        }
        sleep 0.02 if %left;
    }
    for my $pid (keys %left) {
        kill 'KILL', $pid;
        waitpid($pid, 0);
    }
    my @res;
    for my $w (0 .. $workers - 1) {
        open(my $fh, '<', "$dir/w$w") or next;
        while (<$fh>) {
            chomp;
            my ($i, $status, $secs, $start, $error) = split / /, $_, 5;
            $res[$i] = { status => $status, secs => $secs,
                         start => $start, error => $error };
        }
        close $fh;
    }
    $res[$_] //= { status => 0, secs => 0, start => 0, error => 'none' }
        for 0 .. $#req;
    return @res;
}

# One GET over a connection of its own (HTTP/1.0, closed after the
# answer): the status (0: no answer within $timeout) and the challenge's
# error attribute ('-' without one). Lighter than LWP, so that a thousand
# requests take seconds.
sub http_get
{
    my ($url, $jwt, $timeout) = @_;
    my ($host, $port, $path) = $url =~ m{^http://([^:/]+):(\d+)(/.*)$}
        or die "bad url $url\n";
    my $s = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port,
                                  Proto => 'tcp', Timeout => $timeout)
        or return (0, 'connect');
    my $head = "GET $path HTTP/1.0\r\nHost: $host:$port\r\n"
        . (defined $jwt ? "Authorization: Bearer $jwt\r\n" : '')
        . "Connection: close\r\n\r\n";
    print $s $head;
    my $sel = IO::Select->new($s);
    my $buf = '';
    my $end = time + $timeout;
    while (time < $end) {
        last unless $sel->can_read($end - time);
        my $n = sysread($s, $buf, 65536, length $buf);
        last unless $n;
    }
    close $s;
    my ($status) = $buf =~ m{^HTTP/\d\.\d (\d{3})} or return (0, 'none');
    my ($hdrs) = $buf =~ /^(.*?)\r\n\r\n/s;
    my $error = '-';
    $error = $1 if ($hdrs // '') =~ /^WWW-Authenticate:[^\r\n]*error="([^"]*)"/mi;
    return ($status, $error);
}

# The body of a plain GET (no token), or undef without a 200.
sub http_body
{
    my ($url, $timeout) = @_;
    $timeout //= 10;
    my ($host, $port, $path) = $url =~ m{^http://([^:/]+):(\d+)(/.*)$}
        or die "bad url $url\n";
    my $s = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port,
                                  Proto => 'tcp', Timeout => $timeout)
        or return undef;
    print $s "GET $path HTTP/1.0\r\nHost: $host:$port\r\n"
        . "Connection: close\r\n\r\n";
    my $sel = IO::Select->new($s);
    my $buf = '';
    my $end = time + $timeout;
    while (time < $end) {
        last unless $sel->can_read($end - time);
        my $n = sysread($s, $buf, 65536, length $buf);
        last unless $n;
    }
    close $s;
    return undef unless $buf =~ m{^HTTP/\d\.\d 200 };
    $buf =~ s/^.*?\r\n\r\n//s;
    return $buf;
}

sub client
{
    my ($w, $workers, $req, $t0, $duration, $timeout, $out) = @_;
    # A server closing early shows as a status 0, not a dead client.
    $SIG{PIPE} = 'IGNORE';
    open(my $fh, '>', $out) or POSIX::_exit(1);
    $fh->autoflush(1);
    for (my $i = $w; $i < @$req; $i += $workers) {
        my ($url, $jwt) = @{ $req->[$i] };
        my $at = $t0 + ($duration ? $i * $duration / @$req : 0);
        my $now = time;
        sleep($at - $now) if $at > $now;
        my $start = time;
        my ($status, $error) = http_get($url, $jwt, $timeout);
        printf $fh "%d %d %.4f %.4f %s\n", $i, $status, time - $start,
            $start, $error;
    }
    close $fh;
}

# ---------------------------------------------------------------- cleanup

sub cleanup
{
    return unless $$ == $OWNER;
    stop_httpd($_) for reverse @httpds;
    stop_issuer($_) for reverse @issuers;
    @httpds = @issuers = ();
    remove_tree($_) for grep { !$ENV{LOGTO_NET_KEEP} } @scratch;
    @scratch = ();
}

# A reader that went away (| head) must not leave servers behind either.
$SIG{INT} = $SIG{TERM} = $SIG{HUP} = $SIG{PIPE} = sub {
    my ($sig) = @_;
    POSIX::_exit(1) unless $$ == $OWNER;
    $SIG{$sig} = 'DEFAULT';
    cleanup();
    exit 128 + 2;
};

END {
    my $rc = $?;
    cleanup();
    $? = $rc;
}

1;
