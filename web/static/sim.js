// The chat simulator: sends as the chosen person, polls the outbox for what reached them.
(function () {
  "use strict";
  var script = document.currentScript;
  var sayUrl = script.dataset.say, feedUrl = script.dataset.feed;
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var picker = document.getElementById("person");
  var chat = document.getElementById("chat");
  var groups = document.getElementById("groups");
  var examples = JSON.parse(picker.dataset.examples || "{}");
  var last = 0, generation = 0, timer = null;

  // A push's link to a wish's phone page opens as it would in WeChat's own browser.
  function linkify(node, text) {
    var pattern = /https?:\/\/[^\s]+/g, at = 0, match;
    while ((match = pattern.exec(text)) !== null) {
      node.appendChild(document.createTextNode(text.slice(at, match.index)));
      var link = document.createElement("a");
      link.href = match[0];
      link.textContent = match[0];
      link.target = "_blank";
      node.appendChild(link);
      at = match.index + match[0].length;
    }
    node.appendChild(document.createTextNode(text.slice(at)));
  }

  function bubble(list, who, text, extra) {
    var item = document.createElement("li");
    item.className = "msg " + who;
    if (extra) {
      var tag = document.createElement("span");
      tag.className = "tag";
      tag.textContent = extra;
      item.appendChild(tag);
    }
    var body = document.createElement("div");
    body.className = "text";
    linkify(body, text);
    item.appendChild(body);
    list.appendChild(item);
    showNewest(list);
    return item;
  }

  // The newest message in view, at the bottom of its list.
  function showNewest(list) {
    list.scrollTop = list.scrollHeight;
  }

  function answer(item, text) {
    item.classList.remove("pending");
    item.querySelector(".text").textContent = text;
    showNewest(item.parentNode);  // a long reply grew the list after it was scrolled
  }

  function showNotice(n) {
    var where = n.box === "private" ? chat : groups;
    var label = n.box === "private" ? "通知" : n.box_label;
    var item = bubble(where, n.box === "private" ? "notice" : "push", n.text, label + " " + n.time);
    item.dataset.notice = n.id;
  }

  function poll() {
    var mine = generation;
    fetch(feedUrl + "?person=" + picker.value + "&after=" + last, {credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data || mine !== generation) return;
        data.notices.forEach(showNotice);
        last = data.last;
      })
      .catch(function () {})
      .then(function () { if (mine === generation) timer = setTimeout(poll, 1500); });
  }

  function reset() {
    generation += 1;
    clearTimeout(timer);
    last = 0;
    chat.innerHTML = "";
    groups.innerHTML = "";
    var chips = document.getElementById("examples");
    chips.innerHTML = "";
    (examples[picker.value] || []).forEach(function (command) {
      var chip = document.createElement("button");
      chip.type = "button";
      chip.className = "chip";
      chip.textContent = command;
      chip.addEventListener("click", function () { send(command); });
      chips.appendChild(chip);
    });
    poll();
  }

  function send(text) {
    bubble(chat, "me", text);
    var waiting = bubble(chat, "bot pending", "…");
    fetch(sayUrl, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf},
      body: JSON.stringify({person: Number(picker.value), text: text})
    }).then(function (r) { return r.json(); })
      .then(function (data) { answer(waiting, data.error || data.reply || "（没有回复）"); })
      .catch(function () { answer(waiting, "发送失败，请重试。"); });
  }

  document.getElementById("say").addEventListener("submit", function (event) {
    event.preventDefault();
    var input = document.getElementById("text");
    var text = input.value.trim();
    if (!text) return;
    input.value = "";
    send(text);
  });
  picker.addEventListener("change", reset);
  reset();
})();
