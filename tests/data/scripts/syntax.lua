-- a syntax error on line 3
function on_request(req)
    req:reply(200 "OK")
end
