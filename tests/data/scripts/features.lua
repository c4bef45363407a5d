-- features.lua - the routing script of tests/unit/test_script.c. Each test
-- picks a behaviour by the user part of the Request-URI.

-- Kept across requests: the Lua state lives as long as the script.
requests = 0
kept = nil

local function busy_loop()
    local n = 0
    while true do
        n = n + 1
    end
end

local function eat_memory()
    local t = {}
    for i = 1, 100000000 do
        t[i] = string.rep("x", 1000) .. i
    end
    return #t
end

function on_request(req)
    requests = requests + 1
    local user = req.ruri_user

    if req.method == "ACK" then
        -- an ACK has no transaction: it cannot be answered
        local ok, msg = req:reply(200)
        req:log("warn", "ack reply", tostring(ok), msg)
        return
    end

    if user == "edit" then
        -- header edits and a new Request-URI, then forward
        req:add_header("X-Added", "yes")
        req:set_header("Subject", "replaced")
        req:add_header("X-Twice", "1")
        req:add_header("X-Twice", "2")
        req:set_header("X-Twice", "3")
        req:log("info", "removed", req:remove_header("X-Remove"))
        req:set_ruri("sip:edited@10.0.0.2:5060")
        assert(req.ruri == "sip:edited@10.0.0.2:5060")
        assert(req.ruri_user == "edited")
        req:record_route(";tag=t1")
        local ok, err = req:forward()
        assert(ok, err)
    elseif user == "replyhdr" then
        local ok = req:reply(486, "Busy Here", {
            ["X-Reason"] = "testing",
            ["X-Multi"] = {"one", "two"},
            {"Warning", '399 proxy "busy"'},
        })
        assert(ok)
        -- a second final answer is refused, not fatal
        local again, msg = req:reply(500)
        assert(not again and msg:find("already answered"))
    elseif user == "fields" then
        req:reply(200, "Fields", {
            ["X-Method"] = req.method,
            ["X-From-Tag"] = req.from_tag,
            ["X-To-Tag"] = tostring(req.to_tag),
            ["X-From-Uri"] = req.from_uri,
            ["X-To-Uri"] = req.to_uri,
            ["X-Host"] = req.ruri_host,
            ["X-Port"] = tostring(req.ruri_port),
            ["X-CSeq"] = tostring(req.cseq),
            ["X-MF"] = tostring(req.max_forwards),
            ["X-Src"] = req.src_ip .. ":" .. req.src_port,
            ["X-Transport"] = req.transport,
            ["X-Body"] = req.body,
            ["X-Call-Id"] = req.call_id,
            ["X-Header"] = req:header("subject") or "none",
            ["X-Compact"] = req:header("s") or "none",
            ["X-Headers"] = table.concat(req:headers("X-Many"), ","),
            ["X-Missing"] = tostring(req:header("X-Nothing")),
            ["X-Dialog"] = tostring(req:in_dialog()),
            ["X-For-Me"] = tostring(req:for_me()),
            ["X-Requests"] = tostring(requests),
        })
    elseif user == "sandbox" then
        req:reply(200, "Sandbox", {
            ["X-Io"] = tostring(io),
            ["X-Exec"] = tostring(os.execute),
            ["X-Getenv"] = tostring(os.getenv),
            ["X-Dofile"] = tostring(dofile),
            ["X-Loadfile"] = tostring(loadfile),
            ["X-Require"] = tostring(require),
            ["X-Debug"] = tostring(debug),
            ["X-Time"] = type(os.time()),
            ["X-Load"] = tostring(load("return 6 * 7")()),
            ["X-Binary"] = tostring(select(2, load(string.dump(function() end))) ~= nil),
        })
    elseif user == "protected" then
        local ok, err = pcall(req.remove_header, req, "Via")
        assert(not ok)
        req:reply(403, "Protected", {["X-Err"] = err:match("belongs to the proxy") or err})
    elseif user == "badedits" then
        -- refused edits raise errors the script may catch; the message is unchanged
        local e = {}
        e[1] = select(2, pcall(req.reply, req, 200, "OK\r\nX-Injected: 1"))
        e[2] = select(2, pcall(req.set_header, req, "Max-Forwards", "many"))
        e[3] = select(2, pcall(req.add_header, req, "Bad Name", "x"))
        e[4] = select(2, pcall(req.add_header, req, "X-Bad", "a\nb"))
        e[5] = select(2, pcall(req.reply, req, 99))
        e[6] = select(2, pcall(req.add_target, req, "sip:x@10.0.0.2", 2))
        for i, msg in ipairs(e) do
            req:log("info", "badedit", i, msg)
        end
        req:reply(200, "Edits", {["X-MF"] = req:header("Max-Forwards"), ["X-Count"] = tostring(#e)})
    elseif user == "badruri" then
        req:set_ruri("not a uri")
    elseif user == "error" then
        local t = nil
        return t.field -- a runtime error
    elseif user == "loop" then
        busy_loop()
    elseif user == "loopcatch" then
        -- catching the limit error does not let the script go on
        while true do
            pcall(busy_loop)
        end
    elseif user == "oom" then
        eat_memory()
    elseif user == "keep" then
        kept = req
        req:reply(200, "Kept")
    elseif user == "stale" then
        -- kept belongs to an earlier request: touching it raises
        req:reply(200, kept.method)
    elseif user == "stalecatch" then
        local ok, err = pcall(function() return kept.method end)
        req:reply(200, "Stale", {["X-Err"] = ok and "none" or err:match("no longer valid") or err})
    elseif user == "silent" then
        -- neither answered nor forwarded: the binding answers 500
    elseif user == "afterfwd" then
        req:forward("sip:afterfwd@10.0.0.2:5060")
        error("after forwarding")
    elseif user == "failover" then
        req:record_route()
        req:add_target("sip:first@10.0.0.2:5060")
        assert(req:forward())
    elseif user == "onreply" then
        assert(req:forward("sip:onreply@10.0.0.2:5060"))
    elseif user == "printer" then
        print("printed", 42)
        parley.log("warn", "from parley.log")
        req:log("debug", "from req:log")
        req:reply(200, parley.version)
    else
        req:reply(404, "Unknown Test")
    end
end

function on_reply(reply, req)
    if req.ruri_user == "onreply" then
        reply:set_header("X-Seen", "branch " .. reply.branch .. " status " .. reply.status)
        reply:remove_header("X-Secret")
        reply:add_header("X-Call", reply.call_id)
    end
end

function on_failure(reply, req)
    if req.ruri_user == "failover" and (reply.status == 486 or reply.status == 408) then
        local ok, err = pcall(reply.set_header, reply, "X-No", "read-only")
        assert(not ok and err:find("read%-only"))
        assert(reply.branch == nil)
        req:log("info", "failing over after", reply.status, reply.reason)
        assert(req:forward("sip:second@10.0.0.3:5060"))
    end
end
