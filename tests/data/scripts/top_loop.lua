-- never finishes its top level
while true do end
function on_request(req) end
