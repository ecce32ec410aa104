-- POST /api/auth/login (the limit is lifted for the bench). Args: token(unused), username, password, nthreads.
function init(args)
   common_init(args)
   req = wrk.format("POST", "/api/auth/login", { ["Content-Type"] = "application/json" },
                    string.format('{"username": "%s", "password": "%s"}', args[2], args[3]))
end

function request()
   return req
end
