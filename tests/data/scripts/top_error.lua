-- fails while its top level runs
local config = nil
local port = config.port

function on_request(req)
    req:forward()
end
