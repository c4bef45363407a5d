-- parley.lua - the default routing script of parleyd.
--
-- parleyd is a SIP proxy and registrar. It does the protocol work by
-- itself (RFC 3261 section 16: checking each request, transactions,
-- retransmissions, Via, Max-Forwards, forking, CANCEL, choosing the best
-- response); this script only decides where each request goes. It is plain
-- Lua 5.4: change it, run `parleyd --check` to see that it loads, and start
-- parleyd again. The whole API is in docs/script.md.
--
-- What this script does, in order:
--   1. a request that carries a Route set (an in-dialog request that comes
--      back through us because we recorded the route) follows that route;
--   2. REGISTER: the registrar stores the contacts (the location table);
--   3. OPTIONS sent to the proxy itself: answered 200 (a keep-alive ping);
--   4. any other new request: we stay on its path (Record-Route); a new
--      call (INVITE) is tracked as a dialog and counted against its caller,
--      who may have at most config.caller_limit calls at once (486 Busy
--      Here beyond); then the request goes to the registered contacts of
--      its Request-URI, or gets 404 when it is for one of our users who is
--      not registered, or goes on to the Request-URI when it is for
--      someone else's domain.
--
-- parleyd calls on_request(req) for every request it has checked. The
-- request must be forwarded or answered before on_request returns;
-- otherwise parleyd answers 500 itself (and logs why). An error in this
-- script never stops the proxy: the request gets 500 "Script Error" and the
-- log shows the error with a Lua traceback and the request's Call-ID.

-- What runs here, at the top of the file, runs once per worker when
-- parleyd loads the script: the place for settings and definitions.
--
-- config holds settings parleyd passes from its configuration file
-- (read-only; numbers arrive as integers). caller_limit is the number of
-- calls one caller (the user part of From) may have at the same time
-- across all workers; 0 turns the limit off. Without the setting, 10.
local CALLER_LIMIT = config.caller_limit or 10
assert(math.type(CALLER_LIMIT) == "integer" and CALLER_LIMIT >= 0,
       "caller_limit must be a whole number, 0 or more")

-- dialog is parleyd's dialog tracking (docs/script.md, DIALOGS). It is on
-- unless the configuration turns it off, and then dialog.enabled is false
-- and every dialog call raises an error: this script checks first.
--
-- A profile counts dialogs. "caller" is a profile with values: each
-- dialog put in it is counted under a value, here the caller's user name,
-- and dialog.profile_size("caller", "alice") is the number of alice's
-- dialogs alive right now, in every worker. A dialog leaves its profiles
-- by itself when it ends (BYE, CANCEL, a failure, a timeout), so the
-- count is never left behind. Defining a profile that exists is harmless.
if dialog.enabled then
    dialog.define_profile("caller", true)
end

-- Track a new call (the INVITE that starts a dialog) and hold each caller
-- to CALLER_LIMIT calls at once. Returns false when the call was turned
-- away (it has been answered), true to route it on.
local function admit_call(req)
    -- create() starts tracking the dialog: parleyd adds the dialog's id to
    -- its Record-Route, follows the call's state (ringing, answered,
    -- acknowledged, ended), and matches the later BYE, re-INVITE and ACK
    -- to it. "bye-on-timeout": when the dialog's lifetime (12 hours unless
    -- the configuration says otherwise) runs out, parleyd ends the call
    -- itself with a BYE to both ends, so neither bills a forgotten call.
    local d, err = dialog.create("bye-on-timeout")
    if not d then
        -- The dialog table is full (or out of memory): refuse the call
        -- rather than let it through uncounted.
        req:log("warn", err)
        req:reply(503, "Service Unavailable", {["Retry-After"] = "30"})
        return false
    end

    -- The caller: the user part of From (a From without one, such as
    -- sip:example.com, counts under its whole URI).
    --
    -- The call is counted first and the count checked after: the counts
    -- are shared by all workers, and two calls of one caller that arrive
    -- at the same moment on two workers can then never both slip under
    -- the limit (checking first, both could see one call to spare).
    local caller = req.from_user or req.from_uri
    d:set_profile("caller", caller)
    if CALLER_LIMIT > 0 then
        local calls = dialog.profile_size("caller", caller)
        if calls > CALLER_LIMIT then
            -- Not counted after all; the dialog fails with this answer.
            d:unset_profile("caller", caller)
            req:log("info", "caller " .. caller .. " has " .. (calls - 1) ..
                    " calls, the limit is " .. CALLER_LIMIT .. ": 486")
            req:reply(486, "Busy Here")
            return false
        end
    end
    -- Counted until the dialog ends.
    return true
end

function on_request(req)
    -- 1. Follow a Route set.
    --
    -- When a proxy adds Record-Route to a request that starts a dialog (see
    -- step 4), both ends put the route into every later request of that
    -- dialog, as Route headers. loose_route() is true when such a Route
    -- named this proxy (parleyd has removed its own entry already) or
    -- other Route entries remain. A request inside a dialog (it has a To
    -- tag) then simply goes on along the route; so does a new request
    -- that still has Route entries for hops after us (a pre-loaded route).
    -- The ACK of a 2xx comes this way too: it is forwarded without a
    -- transaction and cannot be answered.
    if req:loose_route() and (req:in_dialog() or req:header("Route")) then
        req:forward()
        return
    end

    -- A request inside a dialog that did not come through our
    -- Record-Route: its Request-URI is the other end's Contact, so send it
    -- there, unless that names us (nobody here to take it).
    if req:in_dialog() then
        if not req:for_me() then
            req:forward()
        elseif req.method ~= "ACK" then
            req:reply(404, "Not Here")
        end
        return
    end

    -- 2. The registrar. save() checks the REGISTER (RFC 3261 section 10.3),
    -- adds, refreshes or removes its contacts in the location table and
    -- answers it (200 with the bindings, 423 when the expiry is too short,
    -- 400 when it is malformed). To serve only your own domains, test
    -- req:for_me() or req.ruri_host first and answer 403 otherwise.
    if req.method == "REGISTER" then
        req:save()
        return
    end

    -- 3. OPTIONS addressed to the proxy itself (no user part, our address
    -- or one of our aliases): a ping from a phone or from another proxy.
    if req.method == "OPTIONS" and req:for_me() and not req.ruri_user then
        req:reply(200, "OK")
        return
    end

    -- 4. A new request (INVITE, MESSAGE, SUBSCRIBE...).
    --
    -- record_route() asks parleyd to put its own Record-Route in the request
    -- when it is forwarded, so that the rest of the dialog (ACK, BYE,
    -- re-INVITE) passes through us again and reaches step 1.
    req:record_route()

    -- A new call: track it, and turn it away when its caller has too many.
    if req.method == "INVITE" and dialog.enabled and not admit_call(req) then
        return
    end

    -- lookup() looks the Request-URI's address of record up in the location
    -- table and adds one target per registered contact. forward() then
    -- sends the request to all of them at once (equal q-values fork in
    -- parallel; higher q-values are tried first), and parleyd sends back
    -- the best answer.
    if req:lookup() > 0 then
        req:forward()
        return
    end

    -- Nobody registered under that name. If the request is for our own
    -- domain (our address or an alias in the configuration), the user is
    -- not here.
    if req:for_me() then
        req:reply(404, "Not Found")
        return
    end

    -- Someone else's domain: forward to the Request-URI as it is.
    req:forward()
end

-- on_failure(reply, req) runs when every branch of a request has failed
-- (no 2xx), before the best of the failures goes back to the caller. It
-- can try somewhere else: a target added here starts a new round of
-- branches. Leaving it undefined, as here, costs nothing. An example:
-- send calls that were not answered, or found the callee busy, to a
-- voicemail server.
--
-- function on_failure(reply, req)
--     if req.method == "INVITE" and (reply.status == 408 or reply.status == 486) then
--         req:forward("sip:voicemail@192.0.2.10")
--     end
-- end

-- on_reply(reply, req) sees each response of each branch before parleyd
-- acts on it, and may edit it. An example that hides what software the
-- callee runs:
--
-- function on_reply(reply, req)
--     reply:remove_header("Server")
-- end
