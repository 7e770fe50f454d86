#!/bin/sh
# check access level ‮ } ⁦if (isAdmin)⁩ ⁦ begin admins only
npx eslint --fix .
