from . import urllib
