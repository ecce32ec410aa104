-- GET /openapi.json: served from memory, the no-database ceiling. Args: token(unused), nthreads.
function init(args)
   common_init(args)
   req = wrk.format("GET", "/openapi.json")
end

function request()
   return req
end
