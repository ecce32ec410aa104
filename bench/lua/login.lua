-- POST /api/auth/login (the limit is lifted for the bench). Args: token(unused), username, password, nthreads.
function init(args)
   common_init(args)
   headers = { ["Content-Type"] = "application/json" }
   body = string.format('{"username": "%s", "password": "%s"}', args[2], args[3])
end

function request()
   return stamped("POST", "/api/auth/login", headers, body)
end
