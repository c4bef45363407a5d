-- dialogs.lua - the dialog tests of tests/unit/test_script.c. A new
-- request picks a behaviour by the user part of its Request-URI; a request
-- in a dialog is reported and routed along its Route set. The script
-- checks what it can itself with assert (a failed assert answers 500,
-- which the test sees) and logs the rest for the test to read.

if dialog.enabled then
    dialog.define_profile("caller", true)
    dialog.define_profile("all", false)
    dialog.define_profile("caller", true) -- again, same kind: nothing happens
    local ok, err = pcall(dialog.define_profile, "all", true)
    assert(not ok and err:find("exists without values"), err)
    ok, err = pcall(dialog.define_profile, "bad name", false)
    assert(not ok and err:find("bad profile name"), err)
    -- no request at load time
    ok, err = pcall(dialog.create)
    assert(not ok and err:find("no request is being routed"), err)
    assert(dialog.current() == nil and dialog.direction() == nil)
end

kept = nil -- a dialog object kept across requests

-- The error message of f(...), which must fail.
local function raises(f, ...)
    local ok, err = pcall(f, ...)
    assert(not ok, "expected an error")
    return err
end

local function in_dialog(req)
    local d = dialog.current()
    local code, name = "-", "-"
    if d and req.method ~= "ACK" then
        code, name = d:validate()
    end
    req:log("info", "in-dialog", req.method, tostring(dialog.direction()),
            d and d:id() or "none", d and d:state() or 0, code, name)
    if d and req:header("X-Fix") then
        assert(d:fix_route())
    end
    if d and req:header("X-Match") then
        local m = dialog.match(req:header("X-Match"))
        req:log("info", "matched", m and m:id() or "none")
    end
    assert(req:forward())
end

-- A dialog for this INVITE, with everything checked that needs no answer.
local function create(req)
    local d = assert(dialog.create("bye-on-timeout, ping-caller"))
    assert(d:state() == 1 and d:state_name() == "unconfirmed", d:state_name())
    local flags = d:flags()
    assert(#flags == 2 and flags[1] == "bye-on-timeout" and flags[2] == "ping-caller")
    assert(dialog.current() == d)
    -- a second create for the same request: the same dialog, new flags
    local again = assert(dialog.create({ping_callee = true, bye_on_timeout = false}))
    assert(again == d and again:id() == d:id())
    flags = d:flags()
    assert(#flags == 1 and flags[1] == "ping-callee")
    d:set_flags({"bye-on-timeout"})
    assert(d:flags()[1] == "bye-on-timeout" and #d:flags() == 1)
    d:set_flags("")
    assert(#d:flags() == 0)
    d:set_flags("bye-on-timeout")
    assert(raises(dialog.create, "bye-on-timeout,fly"):find("unknown flag 'fly'"))
    assert(raises(d.set_flags, d, 42):find("string or table of flags"))
    -- identity
    assert(#d:id() == 16 and d:id():match("^%x+$"))
    assert(dialog.lookup(d:id()) == d)
    assert(d:call_id() == req.call_id)
    assert(d:from_tag() == req.from_tag)
    assert(d:to_tag() == nil)
    assert(d:from_uri() == req.from_uri and d:to_uri() == req.to_uri)
    assert(d:end_reason() == nil)
    assert(tostring(d) == "dialog " .. d:id() .. " (unconfirmed)")
    -- timers
    assert(d:set_timeout(120))
    assert(d:timeout() == 120, d:timeout())
    assert(d:set_ping_interval(5))
    assert(raises(d.set_timeout, d, 0):find("seconds from 1"))
    -- direction is for sequential requests only
    assert(dialog.direction() == nil)
    return d
end

local function profiles(req, d)
    local user = req.from_user
    assert(d:set_profile("caller", user))
    assert(d:set_profile("all"))
    assert(d:is_in_profile("caller", user) and d:is_in_profile("caller"))
    assert(not d:is_in_profile("caller", "nobody"))
    assert(d:is_in_profile("all"))
    -- a value that is not the caller's, then moved with clear
    assert(d:set_profile("caller", "temp"))
    assert(d:is_in_profile("caller", "temp"))
    assert(d:set_profile("caller", user, true))
    assert(not d:is_in_profile("caller", "temp"))
    assert(d:is_in_profile("caller", user))
    -- the id is listed
    local found = false
    for _, id in ipairs(dialog.profile_list("caller", user)) do
        found = found or id == d:id()
    end
    assert(found)
    -- unset and set back
    assert(d:unset_profile("all"))
    assert(not d:is_in_profile("all"))
    local ok, err = d:unset_profile("all")
    assert(not ok and err:find("not in that profile"), err)
    assert(d:set_profile("all"))
    -- mistakes
    assert(raises(d.set_profile, d, "nosuch", "x"):find("no profile named 'nosuch'"))
    assert(raises(d.set_profile, d, "caller"):find("has values: give one"))
    assert(raises(d.set_profile, d, "all", "x"):find("has no values"))
    assert(raises(dialog.profile_values, "all"):find("has no values"))
    req:log("info", "profiles", user, dialog.profile_size("caller", user),
            dialog.profile_size("caller"), dialog.profile_size("all"))
    local values = {}
    for v, n in pairs(dialog.profile_values("caller")) do
        values[#values + 1] = v .. "=" .. n
    end
    table.sort(values)
    req:log("info", "values", table.concat(values, ","))
end

local function values(req, d)
    assert(d:set_value("s", "text"))
    assert(d:set_value("i", 42))
    assert(d:set_value("f", 3.0)) -- an integer value: stored as one
    assert(d:set_value("n", "17")) -- a string that looks like a number stays a string
    assert(d:value("s") == "text")
    assert(d:value("i") == 42 and math.type(d:value("i")) == "integer")
    assert(d:value("f") == 3 and math.type(d:value("f")) == "integer")
    assert(d:value("n") == "17")
    assert(d:value("none") == nil)
    assert(d:set_value("s", "replaced") and d:value("s") == "replaced")
    assert(d:unset_value("n"))
    local ok, err = d:unset_value("n")
    assert(not ok and err:find("no such value"), err)
    local all = d:values()
    assert(all.s == "replaced" and all.i == 42 and all.f == 3 and all.n == nil)
    local n = 0
    for _ in pairs(all) do
        n = n + 1
    end
    assert(n == 3, n)
    assert(raises(d.set_value, d, "b", true):find("string or integer"))
    assert(raises(d.set_value, d, "x", 1.5):find("string or integer"))
    assert(raises(d.set_value, d, "", "x"):find("empty value name"))
end

-- A request about the dialog named by its X-Dialog header.
local function about(req, user)
    local id = req:header("X-Dialog")
    local d = dialog.lookup(id)
    if user == "peek" then
        if not d then
            return req:reply(200, "Gone", {["X-Gone"] = "yes"})
        end
        return req:reply(200, "Peek", {
            ["X-State"] = tostring(d:state()),
            ["X-State-Name"] = d:state_name(),
            ["X-To-Tag"] = tostring(d:to_tag()),
            ["X-End-Reason"] = tostring(d:end_reason()),
            ["X-Value"] = tostring(d:value("i")),
            ["X-In"] = tostring(d:is_in_profile("all")),
        })
    elseif user == "kill" then
        local ok, err = d:terminate("Killed By Test", {Reason = "Q.850;cause=16"})
        assert(ok, err)
        -- again: refused, or the dialog is gone already
        local okc, again, why = pcall(d.terminate, d)
        req:reply(200, "Killed", {["X-Again"] = tostring(okc and again) .. " " .. tostring(why)})
    elseif user == "killid" then
        -- by id, through the module: runs from the table's loop later
        local ok, err = dialog.terminate(id, "Killed By Id", "X-Why: test\nX-Who: script")
        assert(ok, err)
        assert(raises(dialog.terminate, "xyz"):find("16 hexadecimal digits"))
        assert(raises(dialog.terminate, id, "a\r\nb"):find("without CR, LF or NUL"))
        assert(raises(dialog.terminate, id, "r", "no colon"):find("Name: value"))
        req:reply(200, "Queued")
    elseif user == "keep" then
        kept = d
        req:reply(200, "Kept")
    end
end

function on_request(req)
    if req:in_dialog() then
        return in_dialog(req)
    end
    local user = req.ruri_user

    if user == "off" then
        -- loaded without a dialog table
        assert(dialog.enabled == false)
        local err = raises(dialog.create)
        local err2 = raises(dialog.profile_size, "caller")
        return req:reply(200, "Off", {["X-Err"] = err, ["X-Err2"] = err2})
    elseif user == "config" then
        local n = 0
        for _ in pairs(config) do
            n = n + 1
        end
        local err = raises(function() config.caller_limit = 5 end)
        return req:reply(200, "Config", {
            ["X-Limit"] = math.type(config.caller_limit) .. " " .. config.caller_limit,
            ["X-Name"] = type(config.name) .. " " .. config.name,
            ["X-Neg"] = math.type(config.neg) .. " " .. config.neg,
            ["X-Big"] = type(config.big) .. " " .. config.big,
            ["X-Empty"] = type(config.empty) .. " [" .. config.empty .. "]",
            ["X-Missing"] = tostring(config.missing),
            ["X-Count"] = tostring(n),
            ["X-Err"] = err,
        })
    elseif user == "notinvite" then
        local d, err = dialog.create()
        assert(d == nil)
        return req:reply(200, "Not Invite", {["X-Err"] = err})
    elseif user == "peek" or user == "kill" or user == "killid" or user == "keep" then
        return about(req, user)
    elseif user == "stale" then
        local err = raises(kept.state, kept)
        return req:reply(200, "Stale", {["X-Err"] = err, ["X-String"] = tostring(kept)})
    elseif user == "stats" then
        local s = dialog.stats()
        return req:reply(200, "Stats", {
            ["X-Stats"] = string.format("active=%d early=%d processed=%d expired=%d failed=%d " ..
                                        "terminated=%d live=%d", s.active, s.early, s.processed,
                                        s.expired, s.failed, s.terminated, s.live),
        })
    end

    -- an INVITE to track: create, then what the user part asks for
    local d, err = dialog.create("bye-on-timeout")
    if not d then
        return req:reply(503, "No Dialog", {["X-Err"] = err})
    end
    if user == "create" then
        create(req)
    elseif user == "profiles" then
        profiles(req, d)
    elseif user == "values" then
        values(req, d)
    end
    if not d:is_in_profile("all") then
        assert(d:set_profile("all"))
    end
    assert(d:set_value("i", 7))
    req:log("info", "dialog", d:id())
    assert(req:forward("sip:" .. user .. "@10.0.0.2:5060"))
end

-- The dialog of the request a response belongs to.
function on_reply(reply, req)
    local d = dialog.current()
    req:log("info", "reply", reply.status, d and d:id() or "none")
end
