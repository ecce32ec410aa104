-- GET /api/draft-groups/{id} as an admin, id random over the history. Args: token, history, nthreads.
function init(args)
   common_init(args)
   history = tonumber(args[2])
   headers = auth_headers(false)
end

function request()
   return stamped("GET", "/api/draft-groups/" .. math.random(1, history), headers)
end
