-- loads fine, but defines no on_request
function on_reply(reply, req)
end
