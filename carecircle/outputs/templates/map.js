/* carecircle map pages: language switch, legend that follows the layers, grid tooltips, and the
 * Gaode (Amap) basemap drawn shifted from GCJ-02 so that it lines up with the WGS84 data.
 * Inlined into every page; needs Leaflet (L) and nothing else. */
(function () {
  "use strict";
  var cc = (window.carecircle = window.carecircle || {});

  /* --- GCJ-02: the same formula as carecircle/sources/coords.py (tested against it) --- */
  var A = 6378245.0;
  var EE = 0.00669342162296594323;

  function inChina(lon, lat) {
    return lon > 73.66 && lon < 135.05 && lat > 3.86 && lat < 53.55;
  }

  function offset(lon, lat) {
    var x = lon - 105.0;
    var y = lat - 35.0;
    var pi = Math.PI;
    var ripple = 20.0 * Math.sin(6.0 * x * pi) + 20.0 * Math.sin(2.0 * x * pi);
    var dlatM = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
    dlatM += (ripple + 20.0 * Math.sin(y * pi) + 40.0 * Math.sin((y / 3.0) * pi) +
      160.0 * Math.sin((y / 12.0) * pi) + 320.0 * Math.sin((y * pi) / 30.0)) * (2.0 / 3.0);
    var dlonM = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
    dlonM += (ripple + 20.0 * Math.sin(x * pi) + 40.0 * Math.sin((x / 3.0) * pi) +
      150.0 * Math.sin((x / 12.0) * pi) + 300.0 * Math.sin((x / 30.0) * pi)) * (2.0 / 3.0);
    var rad = (lat * pi) / 180.0;
    var magic = 1.0 - EE * Math.sin(rad) * Math.sin(rad);
    var dlat = (dlatM * 180.0) / (((A * (1.0 - EE)) / (magic * Math.sqrt(magic))) * pi);
    var dlon = (dlonM * 180.0) / ((A / Math.sqrt(magic)) * Math.cos(rad) * pi);
    return [dlon, dlat];
  }

  /* WGS84 longitude/latitude -> GCJ-02, as [lon, lat]; unchanged outside China. */
  cc.toGcj = function (lon, lat) {
    if (!inChina(lon, lat)) return [lon, lat];
    var d = offset(lon, lat);
    return [lon + d[0], lat + d[1]];
  };

  /* Gaode tiles are drawn in GCJ-02. Each of our tiles is painted from the Gaode tiles under it,
   * moved by the GCJ-02 offset at the tile's centre: the offset changes by less than a pixel
   * across one tile at every zoom, so the data need not be shifted and every basemap of the page
   * shows the same WGS84 layers. */
  cc.GaodeLayer = L.GridLayer.extend({
    options: {
      url: "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}",
      subdomains: "1234",
      maxNativeZoom: 18,
      maxZoom: 20,
    },

    /* Pixel shift (GCJ-02 minus WGS84) at the centre of the tile at ``coords``. */
    tileShift: function (coords) {
      var size = this.getTileSize();
      var map = this._map;
      var centre = map.unproject(coords.scaleBy(size).add(size.divideBy(2)), coords.z);
      var g = cc.toGcj(centre.lng, centre.lat);
      return map.project(L.latLng(g[1], g[0]), coords.z).subtract(map.project(centre, coords.z));
    },

    createTile: function (coords, done) {
      var size = this.getTileSize();
      var tile = L.DomUtil.create("canvas", "cc-gaode-tile");
      tile.width = size.x;
      tile.height = size.y;
      var ctx = tile.getContext("2d");
      var origin = coords.scaleBy(size).add(this.tileShift(coords));
      var x0 = Math.floor(origin.x / size.x);
      var y0 = Math.floor(origin.y / size.y);
      var x1 = Math.floor((origin.x + size.x - 1) / size.x);
      var y1 = Math.floor((origin.y + size.y - 1) / size.y);
      var pending = (x1 - x0 + 1) * (y1 - y0 + 1);
      var failed = null;
      var finish = function () {
        pending -= 1;
        if (pending === 0) done(failed, tile);
      };
      var subdomains = this.options.subdomains;
      for (var x = x0; x <= x1; x++) {
        for (var y = y0; y <= y1; y++) {
          (function (tx, ty, opts) {
            var img = new Image();
            img.onload = function () {
              ctx.drawImage(img, tx * size.x - origin.x, ty * size.y - origin.y);
              finish();
            };
            img.onerror = function () {
              failed = new Error("Gaode tile failed to load");
              finish();
            };
            img.src = L.Util.template(opts.url, {
              s: subdomains[Math.abs(tx + ty) % subdomains.length],
              x: tx,
              y: ty,
              z: coords.z,
            });
          })(x, y, this.options);
        }
      }
      return tile;
    },
  });

  cc.gaodeLayer = function (options) {
    return new cc.GaodeLayer(options);
  };

  /* --- language --- */
  cc.setLanguage = function (lang) {
    var en = lang === "en";
    document.body.classList.toggle("cc-lang-en", en);
    document.documentElement.lang = en ? "en" : "zh-CN";
    cc.language = en ? "en" : "zh";
  };

  /* --- uncovered grid: style by class, tooltip from the two numbers each cell carries --- */
  cc.gridStyle = function (colours) {
    return function (feature) {
      return {
        stroke: false,
        fill: true,
        fillColor: colours[feature.properties.c],
        fillOpacity: 0.85,
      };
    };
  };

  // The tooltip of an uncovered square, for the circle judged at `minutes`.
  cc.cellTooltip = function (minutes) {
    return function (feature, layer) { cellTip(feature, layer, minutes); };
  };

  var cellTip = function (feature, layer, minutes) {
    var p = feature.properties;
    var n = Math.round(p.n).toLocaleString("en");
    var zh = n + " 名老人在" + minutes + "分钟圈外";
    var en = n + " older residents outside the " + minutes + "-minute circle";
    if (p.m === null || p.m === undefined) {
      zh += "，无法步行到达照料中心";
      en += "; no care centre reachable on foot";
    } else {
      zh += "，步行 " + Math.round(p.m) + " 分钟到最近照料中心";
      en += "; " + Math.round(p.m) + " min walk to the nearest centre";
    }
    layer.bindTooltip('<span class="cc-zh">' + zh + '</span><span class="cc-en">' + en + "</span>", {
      sticky: true,
    });
  };

  /* A tier's own reach: mode = [zh, en], tier = [zh, en] (the tier's name). */
  cc.tierTooltip = function (minutes, mode, tier) {
    return function (feature, layer) {
      var p = feature.properties;
      var n = Math.round(p.n).toLocaleString("en");
      var zh = n + " 名老人" + mode[0] + minutes + "分钟内到不了" + tier[0];
      var en = n + " older residents cannot reach " + tier[1] + " within " + minutes + " min " + mode[1];
      if (p.m === null || p.m === undefined) {
        zh += "（无法到达任何一处）";
        en += " (none is reachable)";
      } else {
        zh += "，最近一处" + mode[0] + " " + Math.round(p.m) + " 分钟";
        en += "; the nearest is " + Math.round(p.m) + " min away";
      }
      layer.bindTooltip('<span class="cc-zh">' + zh + '</span><span class="cc-en">' + en + "</span>", {
        sticky: true,
      });
    };
  };

  /* --- page wiring: language button, legend sections shown with their layers --- */
  function layerKey(name) {
    var m = /data-layer="([^"]+)"/.exec(name || "");
    return m ? m[1] : null;
  }

  function showLegend(key, on) {
    var parts = document.querySelectorAll('.cc-legend [data-layer="' + key + '"]');
    for (var i = 0; i < parts.length; i++) parts[i].hidden = !on;
  }

  /* Frame the area in the part of the map that the panel and the layer list leave free. */
  function frame(map, bounds) {
    var wide = window.innerWidth > 900;
    var panel = document.getElementById("cc-panel");
    var layers = document.querySelector(".leaflet-control-layers");
    var left = wide && panel ? panel.offsetLeft + panel.offsetWidth + 10 : 10;
    var right = wide && layers ? layers.offsetWidth + 20 : 10;
    map.fitBounds(bounds, { paddingTopLeft: [left, 10], paddingBottomRight: [right, 10] });
    // Popups open clear of the panel and the layer list too.
    L.Popup.prototype.options.autoPanPaddingTopLeft = L.point(left, 10);
    L.Popup.prototype.options.autoPanPaddingBottomRight = L.point(right, 10);
  }

  cc.init = function (map, bounds) {
    cc.map = map;
    var button = document.getElementById("cc-lang");
    if (button) {
      button.addEventListener("click", function () {
        cc.setLanguage(cc.language === "en" ? "zh" : "en");
      });
    }
    cc.setLanguage("zh");
    map.on("overlayadd", function (e) {
      showLegend(layerKey(e.name), true);
    });
    map.on("overlayremove", function (e) {
      showLegend(layerKey(e.name), false);
    });
    var panel = document.getElementById("cc-panel");
    if (panel) {
      // Scrolling or clicking in the panel must not pan or zoom the map under it.
      L.DomEvent.disableClickPropagation(panel);
      L.DomEvent.disableScrollPropagation(panel);
    }
    if (bounds) frame(map, bounds);
  };
})();
