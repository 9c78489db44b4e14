'use strict';
// serve.js - the life of a test server (backend.js, oidc/issuer.js): listen
// on 127.0.0.1; once listening, finish setting up (listening(port) returns
// the line that says so), write the pid file, then print that line; remove
// the pid file and exit on SIGTERM or SIGINT; exit 1 with "NAME: reason"
// when it cannot listen.
//
//   serve(server, { name, port, pidFile }, (port) => `ready ...\n`);

const fs = require('node:fs');

function serve(server, opts, listening) {
    const cleanup = () => {
        if (opts.pidFile) {
            try {
                fs.unlinkSync(opts.pidFile);
            }
            catch {
                // already gone
            }
        }
    };
    const stop = () => {
        cleanup();
        server.close();
        server.closeAllConnections();
        process.exit(0);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);

    server.on('error', (err) => {
        process.stderr.write(`${opts.name}: ${err.message}\n`);
        cleanup();
        process.exit(1);
    });

    server.listen(opts.port, '127.0.0.1', () => {
        const line = listening(server.address().port);
        if (opts.pidFile) {
            fs.writeFileSync(opts.pidFile, `${process.pid}\n`);
        }
        process.stdout.write(line);
    });
}

module.exports = { serve };
