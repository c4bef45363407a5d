-- section16.lua - the routing script of the second parleyd in
-- tests/integration/parleyd_section16.sh (with parleyd.conf beside it:
-- loop detection on, a short Timer C).
--
-- It makes two things happen that the shipped script never would:
--
--   * a request for the user "loop" at the proxy's own address is
--     forwarded to its Request-URI as it stands, that is, back to this
--     proxy. With loop_detect on, the second pass finds the proxy's own
--     Via with the same loop hash and is answered 482 (RFC 3261 16.3
--     step 4), which the first pass sends upstream;
--   * any other new request is record-routed and forwarded to its
--     Request-URI without a registrar lookup, so a caller can reach a
--     callee by its address (the Timer C test).
--
-- The rest is as etc/parley.lua: a Route set is followed, and OPTIONS to
-- the proxy itself is answered 200 (the test waits for that).

function on_request(req)
    if req:loose_route() and (req:in_dialog() or req:header("Route")) then
        req:forward()
        return
    end
    if req.method == "OPTIONS" and req:for_me() and not req.ruri_user then
        req:reply(200, "OK")
        return
    end
    if req.ruri_user == "loop" and req:for_me() then
        req:forward()
        return
    end
    if req:for_me() then
        req:reply(404, "Not Found")
        return
    end
    req:record_route()
    req:forward()
end
