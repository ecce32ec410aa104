-- GET one path as an admin (the stock reads: low stock, expiring, consumption). Args: token, path, nthreads.
function init(args)
   common_init(args)
   path = args[2]
   headers = auth_headers(false)
end

function request()
   return stamped("GET", path, headers)
end
