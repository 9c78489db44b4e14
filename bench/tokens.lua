-- tokens.lua - wrk script for bench/run: each request carries a Bearer
-- token from a token list (one token per line).
--
--   wrk -tT ... -s bench/tokens.lua URL -- FILE MODE FIRST COUNT T
--
-- The COUNT tokens from line FIRST (0-based) are shared out among the T
-- threads; each thread goes round its tokens in order. MODE cycle: over
-- and over, so every token is a client repeating its own. MODE once: the
-- list is meant to outlast the run, so that every request carries a new
-- token; when it does not, tokens repeat, and bench/run, seeing more
-- requests than tokens, says so.
local started = 0

-- Runs in wrk's main state: number the threads (thread_id becomes a
-- global of each thread's own state).
function setup(thread)
    thread:set("thread_id", started)
    started = started + 1
end

local mine, pos = {}, 1

function init(args)
    local file, first, count, nthreads = args[1], tonumber(args[3]),
        tonumber(args[4]), tonumber(args[5])
    local i = 0
    for line in io.lines(file) do
        if i >= first + count then
            break
        end
        if i >= first and (i - first) % nthreads == thread_id then
            mine[#mine + 1] = line
        end
        i = i + 1
    end
end

function request()
    if pos > #mine then
        pos = 1
    end
    local token = mine[pos]
    pos = pos + 1
    return wrk.format("GET", wrk.path,
                      { ["Authorization"] = "Bearer " .. token })
end
