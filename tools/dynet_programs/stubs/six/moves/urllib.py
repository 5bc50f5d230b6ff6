import urllib.request as request
