-- parleyd-dialog.lua - parleyd's routing script in the dialog mode of
-- bench-proxy (bench/proxy/bench-proxy.sh --dialog).
--
-- It is etc/parley.lua (Route sets, registrar, OPTIONS to the proxy,
-- Record-Route, lookup, forward) plus the dialog work that
-- bench/proxy/kamailio-dialog.cfg gives Kamailio, so that both proxies
-- are measured doing the same thing:
--
--   - every initial INVITE becomes a dialog, ended with a BYE both ways
--     if its lifetime (the default, 12 hours) runs out; creating it also
--     puts the dialog's id in our Record-Route, which matches the ACK and
--     the BYE to it (no call to make here for them);
--   - the dialog joins the profile "caller" under the From user, what a
--     limit of concurrent calls per caller would count.
--
-- No limit is applied (the benchmark measures the tracking, not a policy),
-- and no pings: Kamailio's dialog module cannot ping more often than
-- every 30 seconds and the benchmark holds calls for less.

-- parleyd's configuration defines "caller" too; defining it again is
-- harmless. dialog.enabled is false under parleyd --check, which loads
-- the script without the dialog module.
if dialog.enabled then
    dialog.define_profile("caller", true)
end

-- The user part of a SIP URI ("sip:alice@example.com" -> "alice"), or the
-- whole URI when it has none.
local function uri_user(uri)
    return uri:match("^sips?:([^@;?]+)@") or uri
end

function on_request(req)
    -- Along a Route set: the ACK, the BYE (the dialog is matched to them
    -- when they enter the proxy).
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

    if req.method == "REGISTER" then
        req:save()
        return
    end
    if req.method == "OPTIONS" and req:for_me() and not req.ruri_user then
        req:reply(200, "OK")
        return
    end

    if req.method == "INVITE" then
        local d = dialog.create("bye-on-timeout")
        d:set_profile("caller", uri_user(req.from_uri))
    end
    req:record_route()
    if req:lookup() > 0 then
        req:forward()
        return
    end
    if req:for_me() then
        req:reply(404, "Not Found")
        return
    end
    req:forward()
end
