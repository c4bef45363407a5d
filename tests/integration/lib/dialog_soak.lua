-- dialog_soak.lua - parleyd's routing script in the dialog soak
-- (tests/integration/parleyd_dialog_soak.sh, make soak).
--
-- etc/parley.lua's routing with every call tracked as a dialog, all of
-- dialog tracking's machinery on at once: the dialog's id in our
-- Record-Route (which matches the ACK and the BYE), a BYE both ways if the
-- lifetime runs out, OPTIONS pings to both ends (every
-- dialog_ping_interval, which the soak sets to 1 s, so that calls held a
-- few seconds are pinged a few times), and the profile "caller" counting
-- each call under its From user. No caller limit: the soak wants every
-- call through, and checks that the profile empties when the calls end.

-- parleyd's configuration defines "caller" too; defining it again is
-- harmless. dialog.enabled is false under parleyd --check, which loads
-- the script without the dialog module.
if dialog.enabled then
    dialog.define_profile("caller", true)
end

function on_request(req)
    -- The ACK and the BYE, along our Record-Route; parleyd has matched
    -- them to their dialog already.
    if req:loose_route() and (req:in_dialog() or req:header("Route")) then
        req:forward()
        return
    end
    if req:in_dialog() then
        if not req:for_me() then
            req:forward()
        elseif req.method ~= "ACK" then
            req:reply(404, "Not Here")
        end
        return
    end
    if req.method == "OPTIONS" and req:for_me() and not req.ruri_user then
        req:reply(200, "OK")
        return
    end

    if req.method == "INVITE" then
        local d, err = dialog.create("bye-on-timeout,ping-caller,ping-callee")
        if not d then
            -- A failed call the soak will see: say why.
            req:log("warn", err)
            req:reply(503, "Service Unavailable")
            return
        end
        d:set_profile("caller", req.from_user or req.from_uri)
    end
    req:record_route()
    req:forward()
end
