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
--   4. any other new request: we stay on its path (Record-Route), and it
--      goes to the registered contacts of its Request-URI, or gets 404 when
--      it is for one of our users who is not registered, or goes on to the
--      Request-URI when it is for someone else's domain.
--
-- parleyd calls on_request(req) for every request it has checked. The
-- request must be forwarded or answered before on_request returns;
-- otherwise parleyd answers 500 itself (and logs why). An error in this
-- script never stops the proxy: the request gets 500 "Script Error" and the
-- log shows the error with a Lua traceback and the request's Call-ID.

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
