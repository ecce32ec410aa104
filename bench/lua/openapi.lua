-- GET /openapi.json: served from memory, the no-database ceiling. Args: token(unused), nthreads.
function init(args)
   common_init(args)
end

function request()
   return stamped("GET", "/openapi.json")
end
