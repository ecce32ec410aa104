-- GET /api/draft-groups?status=DRAFT&limit=50 as an admin. Args: token, nthreads.
function init(args)
   common_init(args)
   req = wrk.format("GET", "/api/draft-groups?status=DRAFT&limit=50", auth_headers(false))
end

function request()
   return req
end
