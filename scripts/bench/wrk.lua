-- The one wrk script of `make bench` (scripts/bench.py). Arguments after `--`:
--   mode   read | update | register | login
--   n      user count: ids and emails are picked at random in 1..n (the seeded users)
--   token  admin access token ("-" for none)
-- Environment: BENCH_DELAY_MS, milliseconds each connection waits between requests (unset or 0:
-- as fast as it can), which is how a fixed, lower rate is offered (wrk has no rate option). It is
-- read from the environment because wrk decides whether the script has a delay() before init().
-- done() prints one line `BENCH_JSON {...}` with the counts and latency percentiles (µs).

local threads = 0
function setup(thread)
    threads = threads + 1
    thread:set("tid", threads)
end

local mode, n, token
local counter = 0

-- The seeding SQL (scripts/bench.py) gives user k the id 0000000k-0000-4000-8000-000000000000
-- (k in hex, left-padded) and the email u<k>@bench.local: no id list has to be loaded.
local function user_id(k)
    return string.format("%08x-0000-4000-8000-000000000000", k)
end

function init(args)
    mode = args[1]
    n = tonumber(args[2])
    token = args[3]
    -- math.random is not seeded per thread: without this, both threads ask for the same ids.
    math.randomseed(os.time() * 1000 + (tid or 0))
end

local pause = tonumber(os.getenv("BENCH_DELAY_MS") or "0")
if pause > 0 then
    function delay()
        return pause
    end
end

local function headers(extra)
    local h = { ["content-type"] = "application/json" }
    if token ~= "-" then
        h["authorization"] = "Bearer " .. token
    end
    for k, v in pairs(extra or {}) do
        h[k] = v
    end
    return h
end

function request()
    counter = counter + 1
    if mode == "read" then
        return wrk.format("GET", "/api/v1/users/" .. user_id(math.random(1, n)), headers())
    elseif mode == "update" then
        local body = '{"first_name":"Upd' .. tid .. "x" .. counter .. '"}'
        return wrk.format("PATCH", "/api/v1/users/" .. user_id(math.random(1, n)),
            headers({ ["prefer"] = "respond-async" }), body)
    elseif mode == "register" then
        -- Unique per thread, run and request: a 409 would be a failed command, not load.
        local k = tid .. "_" .. os.time() .. "_" .. counter
        local body = '{"email":"r' .. k .. '@bench.local","username":"r_' .. k ..
            '","first_name":"Load","last_name":"Test","password":"correct horse battery staple"}'
        return wrk.format("POST", "/api/v1/users", headers({ ["prefer"] = "respond-async" }), body)
    elseif mode == "login" then
        local body = '{"email":"u' .. math.random(1, n) ..
            '@bench.local","password":"correct horse battery staple"}'
        return wrk.format("POST", "/api/v1/auth/login", headers(), body)
    end
end

function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        'BENCH_JSON {"requests":%d,"duration_us":%d,"errors_connect":%d,"errors_read":%d,' ..
        '"errors_write":%d,"errors_status":%d,"errors_timeout":%d,"p50_us":%d,"p99_us":%d,' ..
        '"max_us":%d,"mean_us":%.1f}\n',
        summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
        latency:percentile(50), latency:percentile(99), latency.max, latency.mean))
end
