"""tmi.postgresql.haproxy_runtime: reading HAProxy's `show stat` (a sample written by HAProxy 2.6 in molecule ha)."""

from ansible_collections.tmi.postgresql.plugins.modules.haproxy_runtime import servers

SHOW_STAT = (
    '# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,statu'
    's,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rat'
    'e,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_'
    '5xx,hrsp_other,hanafail,req_rate,req_rate_max,req_tot,cli_abrt,srv_abrt,comp_in,comp_out,comp_byp,co'
    'mp_rsp,lastsess,last_chk,last_agt,qtime,ctime,rtime,ttime,agent_status,agent_code,agent_duration,che'
    'ck_desc,agent_desc,check_rise,check_fall,check_health,agent_rise,agent_fall,agent_health,addr,cookie'
    ',mode,algo,conn_rate,conn_rate_max,conn_tot,intercepted,dcon,dses,wrew,connect,reuse,cache_lookups,c'
    'ache_hits,srv_icur,src_ilim,qtime_max,ctime_max,rtime_max,ttime_max,eint,idle_conn_cur,safe_conn_cur'
    ',used_conn_cur,need_conn_est,uweight,agg_server_status,agg_server_check_status,agg_check_status,-,ss'
    'l_sess,ssl_reused_sess,ssl_failed_handshake,h2_headers_rcvd,h2_data_rcvd,h2_settings_rcvd,h2_rst_str'
    'eam_rcvd,h2_goaway_rcvd,h2_detected_conn_protocol_errors,h2_detected_strm_protocol_errors,h2_rst_str'
    'eam_resp,h2_goaway_resp,h2_open_connections,h2_backend_open_streams,h2_total_connections,h2_backend_'
    'total_streams,h1_open_connections,h1_open_streams,h1_total_connections,h1_total_streams,h1_bytes_in,'
    'h1_bytes_out,h1_spliced_bytes_in,h1_spliced_bytes_out,\n'
    'tmi_postgresql_primary,FRONTEND,,,0,0,1000,0,0,0,0,0,0,,,,,OPEN,,,,,,,,,1,2,0,,,,0,0,0,0,,,,,,,,,,,0'
    ',0,0,,,0,0,0,0,,,,,,,,,,,,,,,,,,,,,tcp,,0,0,0,,0,0,0,,,,,,,,,,,0,,,,,,,,,-,0,0,0,0,0,0,0,0,0,0,0,0,0'
    ',0,0,0,0,0,0,0,0,0,0,0,\n'
    'tmi_postgresql_primary,db1,0,0,0,0,,0,0,0,,0,,0,0,0,0,UP,1,1,0,0,0,53,0,,1,2,1,,0,,2,0,,0,L7OK,200,4'
    '3,,,,,,,,,,,0,0,,,,,-1,,,0,0,0,0,,,,Layer7 check passed,,2,2,3,,,,127.0.0.1:26451,,tcp,,,,,,,,0,0,0,'
    ',,0,,0,0,0,0,0,0,0,0,1,1,,,,-,2,25,0,,,,,,,,,,,,,,,,,,,,,,\n'
    'tmi_postgresql_primary,db2,0,0,0,0,,0,0,0,,0,,0,0,0,0,DOWN,1,1,0,1,1,52,52,,1,2,2,,0,,2,0,,0,L7STS,5'
    '03,19,,,,,,,,,,,0,0,,,,,-1,Service Unavailable,,0,0,0,0,,,,Layer7 wrong status,,2,2,0,,,,127.0.0.1:2'
    '6452,,tcp,,,,,,,,0,0,0,,,0,,0,0,0,0,0,0,0,0,1,1,,,,-,2,24,0,,,,,,,,,,,,,,,,,,,,,,\n'
    'tmi_postgresql_primary,BACKEND,0,0,0,0,100,0,0,0,0,0,,0,0,0,0,UP,1,1,0,,0,53,0,,1,2,0,,0,,1,0,,0,,,,'
    ',,,,,,,,,,0,0,0,0,0,0,-1,,,0,0,0,0,,,,,,,,,,,,,,tcp,first,,,,,,,0,0,0,,,,,0,0,0,0,0,,,,,1,0,0,0,-,4,'
    '49,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,53,53,22737,1325,0,0,\n'
    '\n'
)


def test_the_servers_of_show_stat_without_the_frontend_and_backend_lines():
    assert servers(SHOW_STAT) == [
        {'backend': 'tmi_postgresql_primary', 'server': 'db1', 'status': 'UP', 'check_status': 'L7OK'},
        {'backend': 'tmi_postgresql_primary', 'server': 'db2', 'status': 'DOWN', 'check_status': 'L7STS'},
    ]


def test_a_server_whose_check_is_off_or_in_maintenance():
    text = SHOW_STAT.replace(',UP,1,1,0,', ',no check,1,1,0,').replace(',DOWN,1,1,0,', ',MAINT,1,1,0,')
    assert [(s['server'], s['status']) for s in servers(text)] == [('db1', 'no check'), ('db2', 'MAINT')]


def test_an_answer_that_is_not_show_stat_has_no_servers():
    assert servers('Unknown command.\n') == []
    assert servers('') == []
