-- GET /api/draft-groups?status=DRAFT&limit=50 as an admin. Args: token, nthreads.
function init(args)
   common_init(args)
   headers = auth_headers(false)
end

function request()
   return stamped("GET", "/api/draft-groups?status=DRAFT&limit=50", headers)
end
